// bpfsign load (OBJECT | BUNDLE) [--keyring K] [--offline-verified --cert C | --ca CA]
//              [--attach] [--iface IF] [--cgroup DIR] [--pin DIR] [--json]
// Loads an object through a loader generated on the spot (unsigned), or a
// signed bundle with the scheme the running kernel enforces.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/load/scheme_probe.hpp"
#include "bpfsign/sign/pkcs7.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/pin.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

namespace {

struct LoadOptions {
  std::string object;
  std::string pin;
  bool attach = false;
  std::string iface;
  std::string cgroup;
  bool json = false;
  std::string keyring;
  bool offline_verified = false;
  std::vector<std::string> certs;
  std::vector<std::string> cas;
};

// What was loaded and who checked it, for the report.
struct Prepared {
  loader::LoaderProgram loader;
  load::RunOptions run;
  std::string scheme = "none (unsigned object)";
  std::string checked_by;  // in plain words
  bool kernel_checked = false;
  bool offline_checked = false;
};

Result<Prepared> prepare_object(const LoadOptions& opt) {
  auto model = object::read_object_file(opt.object);
  if (!model) return model.error();
  auto loader = loader::generate_loader(*model);
  if (!loader) return loader.error();
  Prepared p;
  p.loader = std::move(loader).value();
  p.checked_by = "nothing: an object is loaded unsigned, through a loader generated on the spot";
  return p;
}

Result<Prepared> prepare_bundle(const LoadOptions& opt, const std::vector<std::uint8_t>& bytes) {
  auto b = bundle::parse_bundle(bytes, opt.object);
  if (!b) return b.error();
  auto probe = load::probe_scheme();
  if (!probe) return probe.error();
  if (!probe->scheme) return Error{ErrorKind::Kernel, "this kernel has no signed-loader scheme bpfsign knows: " + probe->scheme_evidence};
  const sign::Scheme scheme = *probe->scheme;
  const auto* sig = b->signature_for(scheme);
  if (sig == nullptr) return bad_input("{}: no {} signature, which this kernel needs ({})", opt.object, sign::scheme_name(scheme), probe->scheme_evidence);
  // The kernel's own rules on a signature (form, algorithm, size) are
  // checked here, so a refusal says what is wrong rather than an errno.
  auto signer = sign::Certificate::from_der(b->signer_certificate, opt.object + ": signer certificate");
  if (!signer) return signer.error();
  if (auto rules = sign::check_kernel_rules(sig->der, *signer); !rules) return rules.error().with_context(opt.object);
  auto loader = bundle::loader_from_bundle(*b, scheme);
  if (!loader) return loader.error().with_context(opt.object);
  Prepared p;
  p.loader = std::move(loader).value();
  p.run.scheme = scheme;
  p.scheme = sign::scheme_name(scheme);
  if (probe->checks_signatures) {
    if (opt.keyring.empty()) return bad_input("this kernel checks signatures: name the keyring holding the signer's certificate (--keyring)");
    auto keyring = kernel::resolve_keyring(opt.keyring, false);
    if (!keyring) return keyring.error();
    p.run.signature = sig->der;
    p.run.keyring_id = *keyring;
    p.kernel_checked = true;
    p.checked_by = fmt::format("the kernel verified the {} signature with keyring {} before the loader ran", p.scheme, *keyring);
  } else {
    if (!opt.offline_verified) {
      return Error{ErrorKind::Kernel, fmt::format("this kernel does not check signatures ({}); refusing to load a signed bundle unchecked. "
                                                  "Pass --offline-verified with --cert or --ca to rely on bpfsign's offline check instead",
                                                  probe->signature_evidence)};
    }
    auto trust = verify::load_trust(opt.certs, opt.cas);
    if (!trust) return trust.error();
    if (trust->certificates.empty() && trust->authorities.empty()) return bad_input("--offline-verified needs --cert or --ca");
    const auto report = verify::verify_bundle(*b, *trust);
    for (const auto& c : report.checks) {
      if (!c.ok) return Error{ErrorKind::BadInput, fmt::format("{}: offline verification failed: {}: {}", opt.object, c.what, c.detail)};
    }
    p.offline_checked = true;
    p.checked_by = fmt::format("bpfsign verified every signature offline (signer {}); this kernel checked NO signature{}", report.signer_subject,
                               sign::loader_checks_metadata(scheme) ? ", but the loader's own metadata check ran in the kernel" : "");
  }
  return p;
}

std::uint32_t prog_id(int fd) {
  auto info = kernel::prog_info(fd);
  return std::holds_alternative<kernel::ProgInfo>(info) ? std::get<kernel::ProgInfo>(info).id : 0;
}
std::uint32_t map_id(int fd) {
  auto info = kernel::map_info(fd);
  return std::holds_alternative<kernel::MapInfo>(info) ? std::get<kernel::MapInfo>(info).id : 0;
}

int run_load(const LoadOptions& opt) {
  auto bytes = read_file(opt.object);
  if (!bytes) return report(bytes.error());
  const bool is_bundle = bytes->size() >= bundle::kMagic.size() && std::equal(bundle::kMagic.begin(), bundle::kMagic.end(), bytes->begin());
  auto prepared = is_bundle ? prepare_bundle(opt, *bytes) : prepare_object(opt);
  if (!prepared) return report(prepared.error());
  const loader::LoaderProgram* loader = &prepared->loader;
  auto loaded = load::run_loader(*loader, prepared->run);
  if (!loaded) return report(loaded.error());
  std::vector<load::Attachment> attachments;
  if (opt.attach) {
    load::AttachOptions ao;
    ao.iface = opt.iface;
    ao.cgroup = opt.cgroup;
    auto a = load::attach_programs(loader->program_summaries, *loaded, ao);
    if (!a) return report(a.error());
    attachments = std::move(a).value();
  }
  std::vector<std::filesystem::path> pinned;
  if (!opt.pin.empty()) {
    auto p = load::pin_object(opt.pin, *loaded, attachments);
    if (!p) return report(p.error());
    pinned = std::move(p).value();
  }
  const std::string lifetime = pinned.empty()
                                   ? "nothing pinned: everything was unloaded when bpfsign exited"
                                   : fmt::format("pinned under {}: it stays loaded until unpinned", opt.pin);
  if (opt.json) {
    nlohmann::json j{{"object", opt.object},
                     {"loader_insns", loader->code.size() / 8},
                     {"blob_bytes", loader->blob.size()},
                     {"scheme", prepared->scheme},
                     {"kernel_checked_signature", prepared->kernel_checked},
                     {"offline_verified", prepared->offline_checked},
                     {"checked_by", prepared->checked_by}};
    for (std::size_t i = 0; i < loaded->maps.size(); ++i) {
      j["maps"].push_back({{"name", loaded->map_names[i]}, {"id", map_id(loaded->maps[i].get())}});
    }
    for (std::size_t i = 0; i < loaded->programs.size(); ++i) {
      j["programs"].push_back({{"name", loaded->program_names[i]}, {"id", prog_id(loaded->programs[i].get())}});
    }
    for (const auto& a : attachments) j["attachments"].push_back({{"program", a.program}, {"attached", a.attached()}, {"how", a.how}});
    for (const auto& p : pinned) j["pinned"].push_back(p.string());
    j["lifetime"] = lifetime;
    fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return kExitOk;
  }
  fmt::print("loaded {} through its loader ({} instructions, {}-byte metadata), scheme {}\n", opt.object, loader->code.size() / 8,
             loader->blob.size(), prepared->scheme);
  fmt::print("checked by: {}\n", prepared->checked_by);
  for (std::size_t i = 0; i < loaded->maps.size(); ++i) fmt::print("  map     {:<24} id {}\n", loaded->map_names[i], map_id(loaded->maps[i].get()));
  for (std::size_t i = 0; i < loaded->programs.size(); ++i) {
    fmt::print("  program {:<24} id {}\n", loaded->program_names[i], prog_id(loaded->programs[i].get()));
  }
  for (const auto& a : attachments) fmt::print("  attach  {:<24} {}\n", a.program, a.how);
  fmt::print("{}\n", lifetime);
  return kExitOk;
}

}  // namespace

void register_load(CLI::App& app, Action& action) {
  auto opt = std::make_shared<LoadOptions>();
  auto* cmd = app.add_subcommand("load", "Load a BPF object (unsigned) or a signed bundle on this kernel");
  cmd->add_option("object", opt->object, "BPF ELF object file, or a bundle made by 'bpfsign sign'")->required();
  cmd->add_option("--keyring", opt->keyring, "Keyring holding the signer's certificate: serial, @u, @s or a keyring name");
  cmd->add_flag("--offline-verified", opt->offline_verified,
                "On a kernel that checks no signatures, load after bpfsign's own offline verification (needs --cert or --ca)");
  cmd->add_option("--cert", opt->certs, "Trusted signer certificate (with --offline-verified)");
  cmd->add_option("--ca", opt->cas, "Trusted CA certificate (with --offline-verified)");
  cmd->add_flag("--attach", opt->attach, "Attach every program whose section says how");
  cmd->add_option("--iface", opt->iface, "Interface for xdp and tcx programs");
  cmd->add_option("--cgroup", opt->cgroup, "Cgroup directory for cgroup programs");
  cmd->add_option("--pin", opt->pin, "Pin maps, programs and links under this bpffs directory (all or nothing)");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_load(*opt); }; });
}

}  // namespace bpfsign::cli
