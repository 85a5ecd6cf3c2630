// bpfsign load (OBJECT | BUNDLE) [--keyring K] [--offline-verified --cert C | --ca CA]
//              [--set NAME=VALUE] [--max-entries MAP=N] [--skip PROG] [--settings FILE]
//              [--attach] [--iface IF] [--cgroup DIR] [--pin DIR] [--json]
// Loads an object through a loader generated on the spot (unsigned), or a
// signed bundle with the scheme the running kernel enforces.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/load/load_bundle.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/pin.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "trust_options.hpp"

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
  verify::TrustFiles trust;
  std::vector<std::string> set;          // NAME=VALUE
  std::vector<std::string> max_entries;  // MAP=N
  std::vector<std::string> skip;
  std::string settings_file;             // an object's declaration (a bundle carries its signer's)
};

Result<load::RuntimeSettings> runtime_settings(const LoadOptions& opt) {
  load::RuntimeSettings out;
  auto pairs = [](const std::vector<std::string>& given, const char* option, auto& into) -> Status {
    for (const auto& g : given) {
      const auto eq = g.find('=');
      if (eq == std::string::npos || eq == 0) return usage_error("{} {}: expected NAME=VALUE", option, g);
      into.emplace_back(g.substr(0, eq), g.substr(eq + 1));
    }
    return Ok{};
  };
  if (auto ok = pairs(opt.set, "--set", out.variables); !ok) return ok.error();
  if (auto ok = pairs(opt.max_entries, "--max-entries", out.max_entries); !ok) return ok.error();
  out.skip = opt.skip;
  return out;
}

// A bundle's load: the trust options read (certificates, keyring serial),
// then the library's one call (probe, decision, execution).
Result<load::LoadedBundle> load_bundle(const LoadOptions& opt, const std::vector<std::uint8_t>& bytes, const load::RuntimeSettings& settings) {
  load::TrustOptions trust;
  auto t = verify::load_trust(opt.trust);
  if (!t) return t.error();
  trust.trust = std::move(t).value();
  trust.offline_verified = opt.offline_verified;
  if (!opt.keyring.empty()) {
    auto keyring = kernel::resolve_keyring(opt.keyring, false);
    if (!keyring) return keyring.error();
    trust.keyring = *keyring;
  }
  if (!opt.settings_file.empty()) {
    return usage_error("{}: --settings declares an object's settings; a bundle carries the ones its signer declared", opt.settings_file);
  }
  return load::load_bundle(bytes, opt.object, trust, load::RunOptions{.settings = settings});
}

Result<load::LoadPlan> plan_object(const LoadOptions& opt) {
  if (trust_given(opt.trust) || opt.offline_verified) {
    return usage_error("{}: --cert, --ca and --offline-verified verify a signed bundle; an object carries no signature", opt.object);
  }
  auto model = object::read_object_file(opt.object);
  if (!model) return model.error();
  auto declaration = loader::read_settings_declaration(opt.settings_file);
  if (!declaration) return declaration.error();
  auto loader = loader::generate_loader(*model, *declaration);
  if (!loader) return loader.error();
  auto plan = load::plan_object_load(std::move(loader).value());
  if (!opt.keyring.empty()) plan.notes.push_back("--keyring is not used: an object loads unsigned");
  return plan;
}

std::uint32_t prog_id(int fd) {
  auto info = kernel::prog_info(fd);
  return info.ok() ? info.value().id : 0;
}
std::uint32_t map_id(int fd) {
  auto info = kernel::map_info(fd);
  return info.ok() ? info.value().id : 0;
}

// The values given, as given, and for map sizes what the kernel made of
// them (a ring buffer is rounded up to a power-of-two number of pages).
std::uint32_t map_size(const load::LoadedObject& loaded, const std::string& map) {
  for (std::size_t i = 0; i < loaded.map_names.size(); ++i) {
    if (loaded.map_names[i] != map) continue;
    auto info = kernel::map_info(loaded.maps[i].get());
    if (info) return info->max_entries;
  }
  return 0;
}

nlohmann::json settings_json(const load::RuntimeSettings& given, const load::LoadedObject& loaded) {
  nlohmann::json j{{"variables", nlohmann::json::array()}, {"max_entries", nlohmann::json::array()}, {"skip", given.skip}};
  for (const auto& [name, value] : given.variables) j["variables"].push_back({{"name", name}, {"value", value}});
  for (const auto& [map, value] : given.max_entries) {
    j["max_entries"].push_back({{"map", map}, {"value", value}, {"kernel_max_entries", map_size(loaded, map)}});
  }
  return j;
}

int run_load(const LoadOptions& opt) {
  // Option combinations first: a usage error whatever the files hold.
  if (auto fit = verify::check_trust_options(verify::shape_of(opt.trust)); !fit) return report(fit.error());
  auto bytes = read_file(opt.object);
  if (!bytes) return report(bytes.error());
  const bool is_bundle = bundle::starts_with_magic(*bytes);
  auto settings = runtime_settings(opt);
  if (!settings) return report(settings.error());
  Result<load::LoadedBundle> done = Error{ErrorKind::Internal, "not loaded"};
  if (is_bundle) {
    done = load_bundle(opt, *bytes, *settings);
  } else if (auto plan = plan_object(opt); !plan) {
    done = plan.error();
  } else if (auto executed = load::execute_plan(*plan, load::RunOptions{.settings = *settings}); !executed) {
    done = executed.error().with_context(opt.object);
  } else {
    done = load::LoadedBundle{std::move(plan).value(), std::move(executed->loader), std::move(executed->object)};
  }
  if (!done) return report(done.error());
  const load::LoadPlan* plan = &done->plan;
  const loader::LoaderProgram* loader = &done->loader;
  const load::LoadedObject* loaded = &done->object;
  const std::string scheme = plan->scheme ? sign::scheme_name(*plan->scheme) : "none (unsigned object)";
  std::vector<load::Attachment> attachments;
  if (opt.attach) {
    load::AttachOptions ao;
    ao.iface = opt.iface;
    ao.cgroup = opt.cgroup;
    auto a = load::attach_programs(loader->program_summaries, done->object, ao);
    if (!a) return report(a.error());
    attachments = std::move(a).value();
  }
  std::vector<std::filesystem::path> pinned;
  if (!opt.pin.empty()) {
    auto p = load::pin_object(opt.pin, done->object, attachments);
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
                     {"scheme", scheme},
                     {"kernel_checked_signature", plan->kernel_verifies_signature},
                     {"offline_verified", plan->offline_verified},
                     {"checked_by", plan->checked_by()},
                     {"checks", nlohmann::json::array()},
                     {"notes", plan->notes}};
    for (const auto& c : plan->checks) j["checks"].push_back({{"id", c.id}, {"by", load::check_by_name(c.by)}, {"what", c.what}});
    for (std::size_t i = 0; i < loaded->maps.size(); ++i) {
      j["maps"].push_back({{"name", loaded->map_names[i]}, {"id", map_id(loaded->maps[i].get())}});
    }
    for (std::size_t i = 0; i < loaded->programs.size(); ++i) {
      if (!loaded->programs[i]) continue;
      j["programs"].push_back({{"name", loaded->program_names[i]}, {"id", prog_id(loaded->programs[i].get())}});
    }
    j["skipped"] = nlohmann::json::array();
    for (const auto& s : loaded->skipped) {
      const char* why = s.why == loader::ProgramOutcome::SkippedAsAsked ? "asked"
                        : s.why == loader::ProgramOutcome::TargetMissing ? "target-missing"
                        : s.why == loader::ProgramOutcome::PrimaryLoaded ? "primary-loaded"
                                                                           : "unknown";
      j["skipped"].push_back({{"program", s.name}, {"why", why}, {"reason", s.reason()}});
    }
    j["settings"] = settings_json(*settings, *loaded);
    for (const auto& a : attachments) j["attachments"].push_back({{"program", a.program}, {"attached", a.attached()}, {"how", a.how}});
    for (const auto& p : pinned) j["pinned"].push_back(p.string());
    j["lifetime"] = lifetime;
    print_json(j);
    return kExitOk;
  }
  print_line("loaded {} through its loader ({} instructions, {}-byte metadata), scheme {}", opt.object, loader->code.size() / 8,
             loader->blob.size(), scheme);
  print_line("checked by: {}", plan->checked_by());
  for (const auto& c : plan->checks) print_line("  check   {:<8} {}", load::check_by_name(c.by), c.what);
  for (const auto& n : plan->notes) print_line("  note    {}", n);
  for (std::size_t i = 0; i < loaded->maps.size(); ++i) print_line("  map     {:<24} id {}", loaded->map_names[i], map_id(loaded->maps[i].get()));
  for (std::size_t i = 0; i < loaded->programs.size(); ++i) {
    if (!loaded->programs[i]) continue;
    print_line("  program {:<24} id {}", loaded->program_names[i], prog_id(loaded->programs[i].get()));
  }
  for (const auto& s : loaded->skipped) print_line("  skipped {:<24} {}", s.name, s.reason());
  for (const auto& s : opt.set) print_line("  set     {}", s);
  for (const auto& [map, value] : settings->max_entries) {
    print_line("  set     max_entries {}={} (the kernel's map: {})", map, value, map_size(*loaded, map));
  }
  for (const auto& a : attachments) print_line("  attach  {:<24} {}", a.program, a.how);
  print_line("{}", lifetime);
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
  add_trust_options(cmd, opt->trust);  // given, bpfsign's offline verification must pass first, on any kernel
  cmd->add_option("--set", opt->set, "Set a global variable the signer declared settable: NAME=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("--max-entries", opt->max_entries, "Size a map the signer declared resizable: MAP=N (repeatable)")->allow_extra_args(false);
  cmd->add_option("--skip", opt->skip, "Do not load an optional program the signer declared (repeatable)")->allow_extra_args(false);
  cmd->add_option("--settings", opt->settings_file, "For an object: a declaration of what may be set (JSON, as 'sign --settings')");
  cmd->add_flag("--attach", opt->attach, "Attach every program whose section says how");
  cmd->add_option("--iface", opt->iface, "Interface for xdp and tcx programs");
  cmd->add_option("--cgroup", opt->cgroup, "Cgroup directory for cgroup programs");
  cmd->add_option("--pin", opt->pin, "Pin maps, programs and links under this bpffs directory (all or nothing)");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_load(*opt); }; });
}

}  // namespace bpfsign::cli
