// bpfsign sign OBJECT -k KEY -c CERT -o BUNDLE [--scheme S]... [--settings FILE] [--json]
// Generates the object's loader and signs it for every kernel scheme.
#include <sys/stat.h>

#include <filesystem>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/bundle/sign_object.hpp"
#include "bpfsign/common/file_io.hpp"
#include "commands.hpp"
#include "bpfsign/common/printable.hpp"
#include "exit_codes.hpp"
#include "paths.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct SignOptions {
  std::string object, key, cert, output, pkcs11_module;
  std::vector<std::string> schemes;
  std::string settings;
  bool json = false;
  bool force = false;
};

// A private key file others can read is no secret: said, not refused (the
// key may be on a system where that is intended).
void warn_if_key_readable(const std::string& key) {
  if (key.rfind("pkcs11:", 0) == 0) return;
  struct stat st {};
  if (::stat(key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    fmt::print(stderr, "bpfsign: warning: {}: the private key is readable by {} (mode {:04o}); chmod 600 it\n", printable(key),
               (st.st_mode & 007) != 0 ? "every user" : "its group", st.st_mode & 07777);
  }
}

int run_sign(const SignOptions& opt) {
  if (auto distinct = distinct_files({{"-o", opt.output}, {"the object", opt.object}, {"-k", opt.key}, {"-c", opt.cert}}); !distinct) {
    return report(distinct.error());
  }
  warn_if_key_readable(opt.key);
  auto bytes = read_file(opt.object);
  if (!bytes) return report(bytes.error());
  // The PIN of a token key comes from the environment, never the command line.
  const char* pin = std::getenv("BPFSIGN_PKCS11_PIN");
  auto key = sign::PrivateKey::load(opt.key, opt.pkcs11_module, pin != nullptr ? pin : "");
  if (!key) return report(key.error());
  auto cert = sign::Certificate::load(opt.cert);
  if (!cert) return report(cert.error());
  std::vector<sign::Scheme> schemes(std::begin(sign::kAllSchemes), std::end(sign::kAllSchemes));
  if (!opt.schemes.empty()) {
    schemes.clear();
    for (const auto& n : opt.schemes) {
      auto s = sign::scheme_from_name(n);
      if (!s) return report(s.error());
      schemes.push_back(*s);
    }
  }
  auto declaration = loader::read_settings_declaration(opt.settings);
  if (!declaration) return report(declaration.error());
  auto b = bundle::sign_object(*bytes, std::filesystem::path(opt.object).filename().string(), *key, *cert, schemes, *declaration);
  if (!b) return report(b.error());
  const auto out = bundle::serialize_bundle(*b);
  if (auto s = write_file_atomic(opt.output, out, 0644, opt.force ? Existing::Replace : Existing::Keep); !s) return report(s.error());
  if (opt.json) {
    nlohmann::json j{{"bundle", opt.output}, {"bytes", out.size()}, {"source_sha256", to_hex(b->source_sha256)},
                     {"signer", cert->subject()}, {"key_id", to_hex(b->signer_key_id)}, {"key", key->describe()}};
    for (const auto& s : b->signatures) {
      j["signatures"].push_back({{"scheme", sign::scheme_name(s.scheme)}, {"bytes", s.der.size()},
                                 {"loader_insns", b->loader_for(s.scheme).size() / 8}});
    }
    print_json(j);
    return kExitOk;
  }
  print_line("signed {} -> {} ({} bytes) with {} ({})", opt.object, opt.output, out.size(), cert->subject(), key->describe());
  for (const auto& s : b->signatures) {
    print_line("  {:<25} {} loader instructions, {}-byte signature", sign::scheme_name(s.scheme), b->loader_for(s.scheme).size() / 8, s.der.size());
  }
  print_line("  metadata {} bytes, source sha256 {}", b->metadata.size(), to_hex(b->source_sha256));
  return kExitOk;
}

}  // namespace

void register_sign(CLI::App& app, Action& action) {
  auto opt = std::make_shared<SignOptions>();
  auto* cmd = app.add_subcommand("sign", "Generate an object's loader and sign it for every kernel scheme, into one bundle");
  cmd->add_option("object", opt->object, "BPF ELF object file")->required();
  cmd->add_option("-k,--key", opt->key, "Private key: PEM file or PKCS#11 URI (PIN from $BPFSIGN_PKCS11_PIN)")->required();
  cmd->add_option("-c,--cert", opt->cert, "Signer's certificate (PEM or DER)")->required();
  cmd->add_option("-o,--output", opt->output, "Bundle to write (atomically)")->required();
  cmd->add_option("--scheme", opt->schemes, "Only these schemes: " + sign::scheme_names(", ") + " (default: all)");
  cmd->add_option("--settings", opt->settings, "What the loading side may set without re-signing (JSON; docs/settings.md)");
  cmd->add_option("--pkcs11-module", opt->pkcs11_module, "PKCS#11 module of the token (e.g. SoftHSM2's libsofthsm2.so)");
  cmd->add_flag("--force", opt->force, "Replace an existing output file");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_sign(*opt); }; });
}

}  // namespace bpfsign::cli
