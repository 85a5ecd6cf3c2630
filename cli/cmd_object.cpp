// bpfsign object dump OBJECT [--json]
#include <fmt/core.h>

#include "bpfsign/object/model_dump.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

namespace {

struct DumpOptions {
  std::string object;
  std::string object_name;
  bool json = false;
};

int run_dump(const DumpOptions& opt) {
  auto model = object::read_object_file(opt.object, object::ReadOptions{opt.object_name});
  if (!model) return report(model.error());
  fmt::print("{}", opt.json ? object::dump_json(*model) : object::dump_text(*model));
  return kExitOk;
}

}  // namespace

void register_object(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("object", "Read BPF objects into bpfsign's model");
  cmd->require_subcommand(1);
  auto opt = std::make_shared<DumpOptions>();
  auto* dump = cmd->add_subcommand("dump", "Print the model of a BPF object: programs, maps, data, relocations, externs");
  dump->add_option("object", opt->object, "BPF ELF object file")->required();
  dump->add_option("--object-name", opt->object_name, "Name prefix of global-data maps (default: file name up to the first '.')");
  dump->add_flag("--json", opt->json, "Machine-readable output (docs/object-model.md)");
  dump->callback([&action, opt] { action = [opt] { return run_dump(*opt); }; });
}

}  // namespace bpfsign::cli
