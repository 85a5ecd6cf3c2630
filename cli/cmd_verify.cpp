// bpfsign verify BUNDLE (--cert CERT | --ca CA)... [--json]
// Checks a bundle offline: signer, every signature, every chain link, the
// loader's embedded metadata hash, the manifest digest. Exit 0 when every
// check passes, 1 when one fails.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "settings_report.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "trust_options.hpp"

namespace bpfsign::cli {

namespace {

struct VerifyOptions {
  std::string bundle;
  verify::TrustFiles trust;
  bool json = false;
};

int run_verify(const VerifyOptions& opt) {
  if (opt.trust.certificates.empty() && opt.trust.authorities.empty()) {
    return report(usage_error("verify needs --cert or --ca: whom to trust as the signer"));
  }
  if (auto fit = verify::check_trust_options(verify::shape_of(opt.trust)); !fit) return report(fit.error());
  auto bytes = read_file(opt.bundle);
  if (!bytes) return report(bytes.error());
  auto b = bundle::parse_bundle(*bytes, opt.bundle);
  if (!b) return report(b.error());
  auto trust = verify::load_trust(opt.trust);
  if (!trust) return report(trust.error());
  const auto r = verify::verify_bundle(*b, *trust);
  // The settings the signer declared, from the manifest (covered when the
  // manifest-digest check passed).
  loader::LoaderProgram declared;
  const bool have_declaration = static_cast<bool>(loader::parse_manifest(b->manifest, declared));
  // The source record (the object's name and digest) is covered by no
  // signature: it is shown apart from the verdict, as a claim, never as
  // part of what was verified. `bpfsign reproduce` proves or refutes it.
  if (opt.json) {
    nlohmann::json j{{"bundle", opt.bundle}, {"ok", r.ok()}, {"signer", r.signer_subject}, {"key_id", r.signer_key_id}, {"key", r.signer_key},
                     {"unsigned_claim", {{"source", b->source_name}, {"source_sha256", to_hex(b->source_sha256)}, {"covered_by_signature", false}}}};
    for (const auto& s : b->signatures) j["schemes"].push_back(sign::scheme_name(s.scheme));
    for (const auto& c : r.checks) j["checks"].push_back({{"id", c.id}, {"what", c.what}, {"ok", c.ok}, {"detail", c.detail}});
    j["declared_settings"] = have_declaration ? settings_json(declared) : nlohmann::json();
    print_json(j);
  } else {
    print_line("{}: {}", opt.bundle, r.ok() ? "VERIFIED" : "NOT VERIFIED");
    print_line("  signer {} ({}, key id {})", r.signer_subject, r.signer_key, r.signer_key_id);
    for (const auto& c : r.checks) print_line("  [{}] {}: {}", c.ok ? " ok " : "FAIL", c.what, c.detail);
    if (have_declaration && declared.settings.empty()) {
      print_line("  runtime settings: none declared (nothing is settable at load)");
    } else if (have_declaration) {
      print_line("  runtime settings the signer declared{}:", r.ok() ? " (covered by the verified signatures)" : " (NOT verified)");
      for (const auto& line : settings_lines(declared)) print_line("    {}", line);
    }
    print_line("  unsigned claim, not verified: built from '{}' (sha256 {}); `bpfsign reproduce OBJECT BUNDLE` checks it", b->source_name,
               to_hex(b->source_sha256));
  }
  return r.ok() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_verify(CLI::App& app, Action& action) {
  auto opt = std::make_shared<VerifyOptions>();
  auto* cmd = app.add_subcommand("verify", "Verify a bundle offline: signer, every signature and chain link, embedded hashes");
  cmd->add_option("bundle", opt->bundle, "Bundle made by 'bpfsign sign'")->required();
  add_trust_options(cmd, opt->trust);
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_verify(*opt); }; });
}

}  // namespace bpfsign::cli
