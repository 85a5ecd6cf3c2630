// bpfsign keygen --key KEY.pem --cert CERT.pem [--algorithm A] [--cn NAME]
//                [--days N] [--ca] [--issuer-key K --issuer-cert C] [--json]
// Makes a signing key and a certificate a kernel keyring accepts.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/keys.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "paths.hpp"

namespace bpfsign::cli {

namespace {

// A hundred years: beyond it a validity period is a mistake, not a choice.
constexpr unsigned kMaxDays = 36500;

struct KeygenOptions {
  std::string key, cert, algorithm = "rsa2048", cn = "bpfsign signing key", issuer_key, issuer_cert;
  unsigned days = 365;
  bool ca = false;
  bool force = false;
  bool json = false;
};

int run_keygen(const KeygenOptions& opt) {
  auto algorithm = sign::parse_key_algorithm(opt.algorithm);
  if (!algorithm) return report(algorithm.error());
  if (opt.days == 0 || opt.days > kMaxDays) {
    return report(usage_error("--days {}: a certificate is valid for 1 to {} days (a zero-day certificate is already expired)", opt.days, kMaxDays));
  }
  if (auto distinct = distinct_files({{"--key", opt.key}, {"--cert", opt.cert}, {"--issuer-key", opt.issuer_key}, {"--issuer-cert", opt.issuer_cert}});
      !distinct) {
    return report(distinct.error());
  }
  if (opt.issuer_key.empty() != opt.issuer_cert.empty()) return report(bad_input("--issuer-key and --issuer-cert come together"));
  std::optional<sign::PrivateKey> issuer_key;
  std::optional<sign::Certificate> issuer_cert;
  if (!opt.issuer_key.empty()) {
    auto k = sign::PrivateKey::load(opt.issuer_key);
    if (!k) return report(k.error());
    auto c = sign::Certificate::load(opt.issuer_cert);
    if (!c) return report(c.error());
    issuer_key = std::move(k).value();
    issuer_cert = std::move(c).value();
  }
  auto key = sign::PrivateKey::generate(*algorithm);
  if (!key) return report(key.error());
  sign::CertificateRequest req;
  req.common_name = opt.cn;
  req.days = opt.days;
  req.is_ca = opt.ca;
  if (issuer_key) req.issuer.emplace(sign::CertificateRequest::Issuer{*issuer_key, *issuer_cert});
  auto cert = sign::make_certificate(*key, req);
  if (!cert) return report(cert.error());
  // Both files or neither: both are written in full first, then put in
  // place; an existing file is kept unless --force.
  auto staged_key = key->stage_pem(opt.key);
  if (!staged_key) return report(staged_key.error());
  auto staged_cert = cert->stage_pem(opt.cert);
  if (!staged_cert) return report(staged_cert.error());
  const Existing existing = opt.force ? Existing::Replace : Existing::Keep;
  // Checked before anything is put in place, so that a refusal leaves both
  // files as they were (commit() checks again, atomically): without
  // --force neither may exist; with it, what exists must be a file.
  for (const std::string& path : {opt.key, opt.cert}) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (!std::filesystem::exists(status)) continue;
    if (!opt.force) return report(usage_error("{}: exists; not replaced (--force replaces it)", path));
    if (!std::filesystem::is_regular_file(status)) return report(usage_error("{}: exists and is not a regular file; not replaced", path));
  }
  // The certificate goes in place first: if the key then cannot follow, an
  // older key (--force) is still there, never lost; without --force the new
  // certificate is taken back.
  if (auto s = staged_cert->commit(existing); !s) return report(s.error().with_context("nothing was written"));
  if (auto s = staged_key->commit(existing); !s) {
    std::error_code ignored;
    if (!opt.force) std::filesystem::remove(opt.cert, ignored);
    return report(s.error().with_context(opt.force ? "the certificate was replaced, the key was not (the old key is kept)" : "nothing was written"));
  }
  const std::string keyid = to_hex(cert->subject_key_id());
  if (opt.json) {
    nlohmann::json j{{"key", opt.key},         {"certificate", opt.cert}, {"algorithm", key->describe()},
                     {"subject", cert->subject()}, {"issuer", cert->issuer()}, {"key_id", keyid}, {"ca", opt.ca}};
    print_json(j);
    return kExitOk;
  }
  print_line("wrote {} ({}, mode 0600) and {}", opt.key, key->describe(), opt.cert);
  print_line("  subject {}", cert->subject());
  print_line("  issuer  {}", cert->issuer());
  print_line("  key id  {}", keyid);
  return kExitOk;
}

}  // namespace

void register_keygen(CLI::App& app, Action& action) {
  auto opt = std::make_shared<KeygenOptions>();
  auto* cmd = app.add_subcommand("keygen", "Generate a signing key and an X.509 certificate for kernel keyrings");
  cmd->add_option("--key", opt->key, "Private key output (PEM, written with mode 0600)")->required();
  cmd->add_option("--cert", opt->cert, "Certificate output (PEM)")->required();
  cmd->add_option("-a,--algorithm", opt->algorithm, "rsa2048, rsa3072, rsa4096, p256 or p384")->capture_default_str();
  cmd->add_option("--cn", opt->cn, "Subject common name")->capture_default_str();
  cmd->add_option("--days", opt->days, "Validity in days")->capture_default_str();
  cmd->add_flag("--ca", opt->ca, "Make a CA certificate (keyCertSign) to issue signing certificates");
  cmd->add_option("--issuer-key", opt->issuer_key, "Issue the certificate from this CA key (PEM)");
  cmd->add_option("--issuer-cert", opt->issuer_cert, "… and this CA certificate");
  cmd->add_flag("--force", opt->force, "Replace existing key and certificate files");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_keygen(*opt); }; });
}

}  // namespace bpfsign::cli
