// bpfsign keygen --key KEY.pem --cert CERT.pem [--algorithm A] [--cn NAME]
//                [--days N] [--ca] [--issuer-key K --issuer-cert C] [--json]
// Makes a signing key and a certificate a kernel keyring accepts.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/keys.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

namespace {

struct KeygenOptions {
  std::string key, cert, algorithm = "rsa2048", cn = "bpfsign signing key", issuer_key, issuer_cert;
  unsigned days = 365;
  bool ca = false;
  bool json = false;
};

int run_keygen(const KeygenOptions& opt) {
  auto algorithm = sign::parse_key_algorithm(opt.algorithm);
  if (!algorithm) return report(algorithm.error());
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
  if (issuer_key) {
    req.issuer_key = &*issuer_key;
    req.issuer_cert = &*issuer_cert;
  }
  auto cert = sign::make_certificate(*key, req);
  if (!cert) return report(cert.error());
  if (auto s = key->write_pem(opt.key); !s) return report(s.error());
  if (auto s = cert->write_pem(opt.cert); !s) return report(s.error());
  const std::string keyid = to_hex(cert->subject_key_id());
  if (opt.json) {
    nlohmann::json j{{"key", opt.key},         {"certificate", opt.cert}, {"algorithm", key->describe()},
                     {"subject", cert->subject()}, {"issuer", cert->issuer()}, {"key_id", keyid}, {"ca", opt.ca}};
    fmt::print("{}\n", j.dump(2));
    return kExitOk;
  }
  fmt::print("wrote {} ({}, mode 0600) and {}\n", opt.key, key->describe(), opt.cert);
  fmt::print("  subject {}\n  issuer  {}\n  key id  {}\n", cert->subject(), cert->issuer(), keyid);
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
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_keygen(*opt); }; });
}

}  // namespace bpfsign::cli
