// bpfsign keyring add CERT [--keyring NAME] [--json]
// Puts a certificate into a kernel keyring as an "asymmetric" key.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/sign/keys.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct KeyringOptions {
  std::string cert;
  std::string keyring = "bpfsign";
  bool keyring_given = false;
  bool json = false;
};

int run_keyring_add(const KeyringOptions& opt) {
  auto cert = sign::Certificate::load(opt.cert);
  if (!cert) return report(cert.error());
  const bool bpf_keyring = kernel::has_bpf_keyring();
  std::string note;
  // Where the kernel has a dedicated BPF keyring, that is where signed
  // loads should find their keys: try it first (it is sealed unless the
  // kernel was booted to fill it), and say what happened.
  if (bpf_keyring && opt.keyring_given == false) {
    auto key = kernel::add_certificate(cert->der(), kernel::kBpfKeyringSpec, "");
    if (key) {
      const std::string msg = "enrolled in the dedicated BPF keyring (.bpf)";
      if (opt.json) {
        print_json({{"certificate", opt.cert}, {"subject", cert->subject()}, {"keyring", kernel::kBpfKeyringSpec},
                    {"key", *key}, {"bpf_keyring", true}, {"note", msg}});
      } else {
        fmt::print("{}\n", kernel::kBpfKeyringSpec);
        fmt::print(stderr, "added {} as key {}: {}\n", printable(cert->subject()), *key, msg);
      }
      return kExitOk;
    }
    note = "the dedicated BPF keyring refused the key (" + key.error().message + ", sealed?); staged in '" + opt.keyring +
           "' instead: user and session keyrings only stage keys on this kernel";
  } else if (bpf_keyring) {
    note = "this kernel has a dedicated BPF keyring (@bpf): user and session keyrings only stage keys";
  } else {
    note = "this kernel has no dedicated BPF keyring; signed loads name this keyring's serial";
  }
  auto keyring = kernel::resolve_keyring(opt.keyring, true);
  if (!keyring) return report(keyring.error());
  auto key = kernel::add_certificate(cert->der(), *keyring, "");
  if (!key) return report(key.error());
  if (opt.json) {
    nlohmann::json j{{"certificate", opt.cert}, {"subject", cert->subject()}, {"keyring", *keyring}, {"key", *key}, {"bpf_keyring", bpf_keyring},
                     {"note", note}};
    print_json(j);
    return kExitOk;
  }
  fmt::print("{}\n", *keyring);
  fmt::print(stderr, "added {} as key {} to keyring {} ('{}'); {}\n", printable(cert->subject()), *key, *keyring, printable(opt.keyring), note);
  return kExitOk;
}

}  // namespace

void register_keyring(CLI::App& app, Action& action) {
  auto opt = std::make_shared<KeyringOptions>();
  auto* cmd = app.add_subcommand("keyring", "Manage the kernel keyrings that check BPF signatures");
  cmd->require_subcommand(1);
  auto* add = cmd->add_subcommand("add", "Add a certificate to a keyring and print the keyring's serial (for --keyring)");
  add->add_option("cert", opt->cert, "Certificate (PEM or DER) with a subjectKeyIdentifier")->required();
  add->add_option("--keyring", opt->keyring, "Keyring: @u, @s, @bpf, a serial, or a name under the user keyring (created)")
      ->capture_default_str()
      ->each([opt](const std::string&) { opt->keyring_given = true; });
  add->add_flag("--json", opt->json, "Machine-readable output");
  add->callback([&action, opt] { action = [opt] { return run_keyring_add(*opt); }; });
}

}  // namespace bpfsign::cli
