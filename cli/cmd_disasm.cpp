// bpfsign disasm OBJECT [--section NAME] [--json]
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/program_listing.hpp"
#include "bpfsign/common/printable.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct DisasmOptions {
  std::string object;
  std::string section;
  bool json = false;
};

std::string hex_bytes(Bytes b) {
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i != 0) s += ' ';
    s += fmt::format("{:02x}", b[i]);
  }
  return s;
}

int run_disasm(const DisasmOptions& opt) {
  auto file = object::ElfFile::open(opt.object);
  if (!file) return report(file.error());
  std::optional<std::string_view> only;
  if (!opt.section.empty()) only = opt.section;
  auto listings = object::list_programs(*file, only);
  if (!listings) return report(listings.error());

  nlohmann::json jsections = nlohmann::json::array();
  for (const auto& l : *listings) {
    nlohmann::json jinsns = nlohmann::json::array();
    if (!opt.json) fmt::print("\nDisassembly of section {}:\n", printable(l.section->name));
    for (const auto& p : l.instructions) {
      const Bytes raw = l.section->data.subspan(p.pc * isa::kInsnSize, isa::slot_count(p.insn) * isa::kInsnSize);
      const std::string text = isa::to_string(p.insn);
      auto label = l.labels.find(p.pc);
      if (opt.json) {
        nlohmann::json ji{{"pc", p.pc}, {"bytes", hex_bytes(raw)}, {"text", text}};
        if (label != l.labels.end()) ji["function"] = label->second;
        jinsns.push_back(std::move(ji));
      } else {
        if (label != l.labels.end()) fmt::print("\n<{}>:\n", printable(label->second));
        fmt::print("{:>8}:\t{}\t{}\n", p.pc, hex_bytes(raw), text);
      }
    }
    if (opt.json) {
      jsections.push_back({{"name", l.section->name}, {"index", l.section->index}, {"instructions", std::move(jinsns)}});
    }
  }
  if (opt.json) print_json({{"object", opt.object}, {"sections", std::move(jsections)}});
  return kExitOk;
}

}  // namespace

void register_disasm(CLI::App& app, Action& action) {
  auto opt = std::make_shared<DisasmOptions>();
  auto* cmd = app.add_subcommand("disasm", "Disassemble the programs of a BPF object (LLVM syntax)");
  cmd->add_option("object", opt->object, "BPF ELF object file")->required();
  cmd->add_option("--section", opt->section, "Only this section");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_disasm(*opt); }; });
}

}  // namespace bpfsign::cli
