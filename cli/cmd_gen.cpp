// bpfsign gen skeleton OBJECT [-o FILE] [--name NAME]
#include <fmt/core.h>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "bpfsign/skeleton/c_skeleton.hpp"
#include "bpfsign/skeleton/cpp_skeleton.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

namespace {

struct GenOptions {
  std::string object;
  std::string output;
  std::string name;
  bool c = false;
};

int run_gen_skeleton(const GenOptions& opt) {
  auto model = object::read_object_file(opt.object);
  if (!model) return report(model.error());
  auto loader = loader::generate_loader(*model);
  if (!loader) return report(loader.error());
  const std::string name = opt.name.empty() ? model->name : opt.name;
  auto text = opt.c ? skeleton::c_skeleton(*model, *loader, name) : skeleton::cpp_skeleton(*model, *loader, name);
  if (!text) return report(text.error());
  if (opt.output.empty() || opt.output == "-") {
    fmt::print("{}", *text);
    return kExitOk;
  }
  auto written = write_file_atomic(opt.output, std::span(reinterpret_cast<const std::uint8_t*>(text->data()), text->size()), 0644);
  if (!written) return report(written.error());
  return kExitOk;
}

}  // namespace

void register_gen(CLI::App& app, Action& action) {
  auto* gen = app.add_subcommand("gen", "Generate code from a BPF object");
  gen->require_subcommand(1);
  auto opt = std::make_shared<GenOptions>();
  auto* skel = gen->add_subcommand("skeleton", "A C++ header owning the loaded object, with its loader embedded");
  skel->add_option("object", opt->object, "BPF ELF object file")->required();
  skel->add_option("-o,--output", opt->output, "Header to write (atomically); default: standard output");
  skel->add_option("--name", opt->name, "Namespace prefix (default: the object name)");
  skel->add_flag("--c", opt->c, "A self-contained C header instead (loads; attaching is left to the application)");
  skel->callback([&action, opt] { action = [opt] { return run_gen_skeleton(*opt); }; });
}

}  // namespace bpfsign::cli
