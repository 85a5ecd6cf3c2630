#include "bpfsign/verify/bundle_verifier.hpp"

#include <algorithm>
#include <cstring>
#include <array>
#include <functional>
#include <optional>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/value_area.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/sign/pkcs7.hpp"

namespace bpfsign::verify {

namespace {

using Add = std::function<void(std::string id, std::string what, bool ok, std::string detail)>;

// The hash a checked loader compares, read back from its instructions
// (loader::embedded_metadata_hash: the check must be exactly the one
// bpfsign emits for that hash), followed by the plain loader.
Result<Sha256> embedded_metadata_hash(const bundle::Bundle& b, loader::LoaderVariant variant) {
  const std::vector<std::uint8_t>& code = b.loader(variant);
  const auto embedded = loader::embedded_metadata_hash(code, variant);
  if (!embedded) return bad_input("the loader does not begin with bpfsign's metadata check");
  const Bytes body = Bytes(code).subspan(loader::metadata_check_bytes(variant));
  if (!std::equal(body.begin(), body.end(), b.loader_plain.begin(), b.loader_plain.end())) {
    return bad_input("after its metadata check, the {} loader differs from the plain loader", loader::variant_name(variant));
  }
  return *embedded;
}

// The signer's certificate (a byte-identical trusted one's parse is
// reused: decoding a public key is most of a small bundle's verification),
// its key id, the signer policy, and whether a --cert or --ca vouches for
// it. Empty when the certificate does not parse: nothing else can be checked.
std::optional<sign::Certificate> check_signer(const bundle::Bundle& b, const Trust& trust, VerifyReport& report, const Add& add) {
  std::optional<sign::Certificate> trusted_copy;
  for (const auto& c : trust.certificates) {
    const auto& der = c.der();
    if (std::equal(der.begin(), der.end(), b.signer_certificate.begin(), b.signer_certificate.end())) trusted_copy = c;
  }
  auto cert = trusted_copy ? Result<sign::Certificate>(*trusted_copy) : sign::Certificate::from_der(b.signer_certificate, "signer certificate");
  if (!cert) {
    add("signer_certificate", "signer's certificate", false, cert.error().message);
    return std::nullopt;
  }
  report.signer_subject = cert->subject();
  report.signer_key_id = to_hex(b.signer_key_id);
  report.signer_key = cert->public_key_description();
  const bool keyid_ok = cert->subject_key_id() == b.signer_key_id;
  add("signer_certificate", "signer's certificate and key id", keyid_ok,
      keyid_ok ? report.signer_subject : "the recorded key id is not the certificate's subjectKeyIdentifier");

  // The signer policy (sign/signer_policy.hpp): what the certificate must
  // be, whoever vouches for it.
  auto policy = sign::check_signer(*cert, trust.policy);
  add("signer_policy", "signer certificate meets the signer policy", policy.ok(),
      policy ? (trust.policy.allow_expired ? "code signing leaf, not revoked; validity NOT checked (--allow-expired-signer)"
                                           : "within validity, digitalSignature, not a CA, code signing, not revoked")
             : policy.error().message);

  // Trust: the signer is a given certificate, or chains to a given CA.
  std::string detail = "no --cert or --ca given: nothing vouches for the signer";
  bool ok = false;
  if (trusted_copy) {
    ok = true;
    detail = "the signer's certificate is the trusted one";
  }
  if (!ok && !trust.authorities.empty()) {
    auto chained = sign::check_chain(*cert, trust.authorities, trust.intermediates, trust.policy);
    ok = chained.ok();
    detail = ok ? "chains to a trusted CA" : chained.error().message;
  } else if (!ok && !trust.certificates.empty()) {
    detail = "the signer's certificate is not the trusted one";
  }
  add("trust", "signer trusted", ok, detail);
  return std::move(cert).value();
}

// Every digest the signatures need, each taken once. The chain's links
// give H(metadata), which is also the hash the checked loaders embed, and
// the instructions' hash, which the kernel-chained digest continues over
// the metadata. All are taken before the first public-key operation, so
// that those run back to back with their key material still in cache.
struct Digests {
  sign::ChainLinks links;
  Sha256 plain_then_metadata{};  // the plain loader, then the metadata's value area
  std::array<Sha256, std::size(loader::kLoaderVariants)> loaders{};  // by variant, for the variants signed
  const Sha256& loader(loader::LoaderVariant v) const { return loaders[static_cast<std::size_t>(v) - 1]; }
};

Digests take_digests(const bundle::Bundle& b) {
  Digests d;
  const Bytes maps[] = {b.metadata};
  Sha256Stream running;
  d.links = sign::hash_chain(running.update(b.loader_plain).digest(), maps);
  d.plain_then_metadata = running.update(b.metadata).update(value_area_padding(b.metadata)).digest();
  for (loader::LoaderVariant v : loader::kLoaderVariants) {
    const bool signed_ = std::any_of(b.signatures.begin(), b.signatures.end(), [&](const auto& s) { return sign::scheme_info(s.scheme).loader == v; });
    if (!signed_) continue;
    d.loaders[static_cast<std::size_t>(v) - 1] = v == loader::LoaderVariant::Plain ? d.links.insns : sha256(b.loader(v));
  }
  return d;
}

// Each checked loader's embedded hash is the metadata's.
void check_embedded_hashes(const bundle::Bundle& b, const Digests& d, const Add& add) {
  const Sha256& metadata_hash = d.links.maps.front();
  for (const sign::SchemeInfo& row : sign::kSchemes) {
    if (row.metadata_hash_check == nullptr || b.loader(row.loader).empty()) continue;
    auto embedded = embedded_metadata_hash(b, row.loader);
    const bool ok = embedded && *embedded == metadata_hash;
    add(row.metadata_hash_check, fmt::format("hash embedded in the {} loader = SHA-256 of the metadata", loader::variant_name(row.loader)), ok,
        !embedded ? embedded.error().message : fmt::format("embedded {}, metadata {}", to_hex(*embedded), to_hex(metadata_hash)));
  }
}

// What a scheme signs (sign::signed_payload) in parts, without joining
// them, and its digest when it was already taken.
struct SignedParts {
  std::vector<Bytes> parts;
  const Sha256* digest = nullptr;
  std::string covers;  // for the report
};

SignedParts signed_parts(const bundle::Bundle& b, const sign::SchemeInfo& row, const Digests& d) {
  const std::vector<std::uint8_t>& code = b.loader(row.loader);
  switch (row.content) {
    case sign::SignedContent::Instructions:
      return {{code}, &d.loader(row.loader), fmt::format("the {} loader instructions", code.size() / 8)};
    case sign::SignedContent::InstructionsThenMaps:
      return {{code, b.metadata, value_area_padding(b.metadata)},
              row.loader == loader::LoaderVariant::Plain ? &d.plain_then_metadata : nullptr,
              fmt::format("the {} loader instructions and the {}-byte metadata", code.size() / 8, b.metadata.size())};
    case sign::SignedContent::ChainTop:
      return {{Bytes(d.links.top)}, nullptr, "the chain T over the instructions and the metadata"};
  }
  internal_error("signed_parts: unknown content");
}

// Each signature: in the form kernels accept, and verifying over what its
// scheme signs. Returns whether the hash-chain signature verified.
bool check_signatures(const bundle::Bundle& b, const sign::Certificate& cert, const Digests& d, const Add& add) {
  bool chain_signature_verified = false;
  sign::SignatureVerifier verifier(cert);
  for (const auto& s : b.signatures) {
    const sign::SchemeInfo& row = sign::scheme_info(s.scheme);
    const std::string name = row.name;
    const SignedParts what = signed_parts(b, row, d);
    auto [rules, verified] = verifier.check(s.der, what.parts, what.digest);
    add(name + "_format", name + " signature in the form kernels accept", rules.ok(),
        rules ? "PKCS#7, detached, SHA-256, no signed attributes, signer by key id" : rules.error().message);
    if (row.content == sign::SignedContent::ChainTop) chain_signature_verified = verified.ok();
    add(name + "_signature", name + " signature", verified.ok(), verified ? "verifies over " + what.covers : verified.error().message);
  }
  return chain_signature_verified;
}

// The recorded chain links: what a kernel or LSM holding only the links
// would check, recomputed from the bundle's contents.
void check_chain_links(const bundle::Bundle& b, const sign::Certificate& cert, const Digests& d, bool chain_signature_verified, const Add& add) {
  if (!b.chain) return;
  const sign::ChainLinks& links = d.links;
  add("chain_insns", "chain link: SHA-256 of the instructions", b.chain->insns == links.insns, to_hex(b.chain->insns));
  const bool maps_ok = b.chain->maps == links.maps;
  add("chain_maps", "chain links: H(map) of each metadata map", maps_ok,
      maps_ok ? fmt::format("{} map(s)", links.maps.size()) : "a recorded map hash differs from the metadata's");
  const Sha256 top = sign::chain_top(b.chain->insns, b.chain->maps);
  add("chain_top", "chain top T recomputed from the links", top == b.chain->top, to_hex(b.chain->top));
  const auto* s = b.signature_for(sign::Scheme::HashChain);
  if (s == nullptr) return;
  // When the recorded T is the recomputed one, the hash-chain signature
  // was verified over exactly these bytes already.
  const char* what = "signature over the recorded T (what a kernel or LSM holding only the links checks)";
  if (b.chain->top == links.top && chain_signature_verified) {
    add("chain_signature", what, true, "verifies (the recorded T is the recomputed one)");
    return;
  }
  auto v = sign::verify_detached(s->der, b.chain->top, cert);
  add("chain_signature", what, v.ok(), v ? "verifies" : v.error().message);
}

}  // namespace

Result<Trust> load_trust(const TrustFiles& files) {
  Trust trust;
  for (auto [paths, out] : {std::pair{&files.certificates, &trust.certificates}, std::pair{&files.authorities, &trust.authorities},
                            std::pair{&files.intermediates, &trust.intermediates}}) {
    for (const auto& path : *paths) {
      auto certs = sign::Certificate::load_all(path);
      if (!certs) return certs.error();
      out->insert(out->end(), certs->begin(), certs->end());
    }
  }
  for (const auto& path : files.revoked) {
    auto ids = sign::load_revoked(path);
    if (!ids) return ids.error();
    trust.policy.revoked_key_ids.insert(trust.policy.revoked_key_ids.end(), ids->begin(), ids->end());
  }
  trust.policy.allow_expired = files.allow_expired;
  return trust;
}

TrustShape shape_of(const Trust& trust) {
  return {!trust.certificates.empty(), !trust.authorities.empty(), !trust.intermediates.empty(), !trust.policy.revoked_key_ids.empty(),
          trust.policy.allow_expired};
}

TrustShape shape_of(const TrustFiles& files) {
  return {!files.certificates.empty(), !files.authorities.empty(), !files.intermediates.empty(), !files.revoked.empty(), files.allow_expired};
}

Status check_trust_options(const TrustShape& given) {
  if (!given.certificates && !given.authorities && (given.revoked || given.intermediates || given.allow_expired)) {
    return usage_error("--revoked, --chain and --allow-expired-signer go with --cert or --ca (they shape bpfsign's offline verification)");
  }
  if (given.intermediates && !given.authorities) {
    return usage_error("--chain gives intermediates towards a --ca; with --cert alone they would not be used");
  }
  return Ok{};
}

bool VerifyReport::ok() const {
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

VerifyReport verify_bundle(const bundle::Bundle& b, const Trust& trust) {
  VerifyReport report;
  const Add add = [&](std::string id, std::string what, bool ok, std::string detail) {
    report.checks.push_back({std::move(id), std::move(what), ok, std::move(detail)});
  };
  const std::optional<sign::Certificate> cert = check_signer(b, trust, report, add);
  if (!cert) return report;
  // The manifest is covered through its digest at the end of the metadata.
  auto manifest = bundle::check_manifest(b);
  add("manifest", "manifest digest ends the metadata", manifest.ok(), manifest ? "covered by every scheme's metadata check" : manifest.error().message);
  const Digests digests = take_digests(b);
  check_embedded_hashes(b, digests, add);
  const bool chain_signature_verified = check_signatures(b, *cert, digests, add);
  check_chain_links(b, *cert, digests, chain_signature_verified, add);
  return report;
}

}  // namespace bpfsign::verify
