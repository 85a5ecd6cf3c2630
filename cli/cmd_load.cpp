// bpfsign load OBJECT [--attach] [--iface IF] [--cgroup DIR] [--pin DIR] [--json]
// Loads an object through its generated loader on this kernel. (Signed
// bundles come with issue 5; today the loader is generated on the spot.)
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/kernel/bpf_syscall.hpp"
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
};

std::uint32_t prog_id(int fd) {
  auto info = kernel::prog_info(fd);
  return std::holds_alternative<kernel::ProgInfo>(info) ? std::get<kernel::ProgInfo>(info).id : 0;
}
std::uint32_t map_id(int fd) {
  auto info = kernel::map_info(fd);
  return std::holds_alternative<kernel::MapInfo>(info) ? std::get<kernel::MapInfo>(info).id : 0;
}

int run_load(const LoadOptions& opt) {
  auto model = object::read_object_file(opt.object);
  if (!model) return report(model.error());
  auto loader = loader::generate_loader(*model);
  if (!loader) return report(loader.error());
  auto loaded = load::run_loader(*loader);
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
    nlohmann::json j{{"object", opt.object}, {"loader_insns", loader->code.size() / 8}, {"blob_bytes", loader->blob.size()}};
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
  fmt::print("loaded {} through a generated loader ({} instructions, {}-byte metadata)\n", opt.object, loader->code.size() / 8,
             loader->blob.size());
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
  auto* cmd = app.add_subcommand("load", "Load a BPF object on this kernel through its generated loader");
  cmd->add_option("object", opt->object, "BPF ELF object file")->required();
  cmd->add_flag("--attach", opt->attach, "Attach every program whose section says how");
  cmd->add_option("--iface", opt->iface, "Interface for xdp and tcx programs");
  cmd->add_option("--cgroup", opt->cgroup, "Cgroup directory for cgroup programs");
  cmd->add_option("--pin", opt->pin, "Pin maps, programs and links under this bpffs directory (all or nothing)");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_load(*opt); }; });
}

}  // namespace bpfsign::cli
