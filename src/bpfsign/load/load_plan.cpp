#include "bpfsign/load/load_plan.hpp"

#include <algorithm>

#include <fmt/core.h>

#include "bpfsign/common/value_area.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/sign/pkcs7.hpp"

namespace bpfsign::load {

const char* check_by_name(PlannedCheck::By by) {
  switch (by) {
    case PlannedCheck::By::Kernel: return "kernel";
    case PlannedCheck::By::Loader: return "loader";
    case PlannedCheck::By::Bpfsign: return "bpfsign";
  }
  return "unknown";
}

std::string LoadPlan::checked_by() const {
  if (!scheme) return "nothing: an object is loaded unsigned, through a loader generated here from it";
  const char* name = sign::scheme_name(*scheme);
  std::string kernel = kernel_verifies_signature
                           ? fmt::format("the kernel verified the {} signature with keyring {} before the loader ran", name, keyring_id)
                           : std::string("this kernel checked NO signature");
  if (offline_verified) return fmt::format("bpfsign verified every signature offline (signer {}); {}", signer, kernel);
  return kernel;
}

namespace {

// The bundle is well-formed and the answer is "no" (exit 1, as `verify`'s).
Error refuse(const std::string& what, const std::string& why) { return refusal("{}: {}; nothing was loaded", what, why); }

bool trust_given(const TrustOptions& t) { return !t.trust.certificates.empty() || !t.trust.authorities.empty(); }

}  // namespace

Result<LoadPlan> plan_bundle_load(const bundle::Bundle& b, const std::string& what, const KernelProbe& kernel, const TrustOptions& trust) {
  if (!kernel.scheme) {
    return Error{ErrorKind::Kernel, fmt::format("this kernel has no signed-loader scheme bpfsign knows: {}", kernel.scheme_evidence)};
  }
  const sign::Scheme scheme = *kernel.scheme;
  const char* name = sign::scheme_name(scheme);
  if (!sign::kernel_verifies(scheme)) return refuse(what, fmt::format("no kernel implements the {} scheme (the seed patchset was not merged)", name));
  const bundle::SignatureRecord* sig = b.signature_for(scheme);
  if (sig == nullptr) return refuse(what, fmt::format("no {} signature: this kernel runs {} loaders ({})", name, name, kernel.scheme_evidence));
  const std::vector<std::uint8_t>& code = b.loader_for(scheme);
  if (code.empty()) return refuse(what, fmt::format("no loader for the {} scheme", name));

  // Trust options are never ignored: with --cert or --ca the offline
  // verification must pass, whatever the kernel checks.
  const bool offline = trust_given(trust);
  if (trust.offline_verified && !offline) return usage_error("--offline-verified needs --cert or --ca");
  if (auto fit = verify::check_trust_options(verify::shape_of(trust.trust)); !fit) return fit.error();
  if (!kernel.checks_signatures() && !trust.offline_verified) {
    return Error{ErrorKind::Kernel, fmt::format("this kernel does not check signatures ({}); refusing to load a signed bundle unchecked. "
                                                "Pass --offline-verified with --cert or --ca to rely on bpfsign's offline check instead",
                                                kernel.signature_evidence())};
  }
  if (kernel.checks_signatures() && !trust.keyring) {
    return usage_error("this kernel checks signatures: name the keyring holding the signer's certificate (--keyring)");
  }

  LoadPlan p;
  p.scheme = scheme;
  p.loader_code = code;
  p.metadata = b.metadata;
  p.manifest = b.manifest;

  if (offline) {
    const verify::VerifyReport report = verify::verify_bundle(b, trust.trust);
    for (const auto& c : report.checks) {
      if (!c.ok) return refuse(what, fmt::format("offline verification failed: {}: {}", c.what, c.detail));
    }
    p.offline_verified = true;
    p.signer = report.signer_subject;
    p.checks.push_back({"offline-verification", PlannedCheck::By::Bpfsign,
                        fmt::format("every signature, the signer against --cert/--ca ({}) and the signer policy (validity, usage, not "
                                    "a CA, not revoked: the kernel checks none of this), the embedded hashes and the manifest digest, "
                                    "offline, before anything is loaded",
                                    report.signer_subject)});
  }

  // The kernel's own rules on a signature (form, algorithm, size), checked
  // here so that a refusal says what is wrong rather than an errno.
  auto signer = sign::Certificate::from_der(b.signer_certificate, what + ": signer certificate");
  if (!signer) return signer.error();
  if (auto rules = sign::check_kernel_rules(sig->der, *signer); !rules) return rules.error().with_context(what);

  if (kernel.checks_signatures()) {
    if (trust.offline_verified) {
      p.notes.push_back("--offline-verified is not needed: this kernel checks the signature itself (the offline check ran because "
                        "--cert/--ca were given)");
    }
    p.signature = sig->der;
    p.keyring_id = *trust.keyring;
    p.kernel_verifies_signature = true;
    p.checks.push_back({"kernel-signature", PlannedCheck::By::Kernel,
                        fmt::format("the {} signature over {}, with keyring {}, before the loader exists", name, sign::scheme_info(scheme).covers,
                                    *trust.keyring)});
  } else {
    p.notes.push_back(fmt::format("this kernel checks no signature ({}): the load carries none", kernel.signature_evidence()));
    if (trust.keyring) p.notes.push_back("--keyring is not used: this kernel checks no signature");
  }

  if (sign::loader_checks_metadata(scheme)) {
    // On this generation the kernel verifies the instructions only; the
    // metadata is authentic when its hash is the one those instructions
    // check. Compared here already, so an altered bundle is refused before
    // any system call; the loader compares again in the kernel.
    const loader::LoaderVariant variant = sign::scheme_info(scheme).loader;
    const bool exclusive = variant == loader::LoaderVariant::LoaderChecked;
    p.embedded_metadata_hash = loader::embedded_metadata_hash(code, variant);
    if (!p.embedded_metadata_hash) return refuse(what, fmt::format("the {} loader does not begin with bpfsign's metadata check", name));
    if (value_area_hash(b.metadata) != *p.embedded_metadata_hash) {
      return refuse(what, fmt::format("the metadata's SHA-256 is not the one the signed {} loader checks: metadata altered", name));
    }
    p.checks.push_back({"metadata-hash", PlannedCheck::By::Bpfsign,
                        "the metadata's SHA-256 equals the hash in the signed loader, before the manifest is read"});
    p.checks.push_back({"loader-metadata-check", PlannedCheck::By::Loader,
                        exclusive ? "the metadata map is exclusive to the loader and its kernel-computed SHA-256 is the signed one, before the "
                                    "loader's first command"
                                  : "the metadata map's kernel-computed SHA-256 is the signed one, before the loader's first command (this "
                                    "kernel's struct bpf_map shows no exclusivity to check)"});
  }
  if (!loader::manifest_digest_matches(b.metadata, b.manifest)) {
    return refuse(what, "the manifest's SHA-256 is not the one at the end of the metadata: manifest or metadata altered");
  }
  p.checks.push_back({"manifest-digest", PlannedCheck::By::Bpfsign,
                      "the manifest's SHA-256 ends the authenticated metadata, before the manifest is parsed"});
  return p;
}

LoadPlan plan_object_load(loader::LoaderProgram loader) {
  LoadPlan p;
  p.loader_code = loader.code;
  p.metadata = loader.blob;
  p.generated = std::move(loader);
  p.notes.push_back("an object is loaded unsigned: nothing checks it but the kernel's verifier");
  return p;
}

}  // namespace bpfsign::load
