// Internal to the object reader: what its steps share while one object is
// read. Not installed; not part of the API.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::object::detail {

// ELF section roles, as libbpf's elf_collect assigns them.
enum class SectionRole : std::uint8_t { Other, Code, Data, Rodata, Bss, BtfMaps, LegacyMaps, Relocations };

// A function symbol in a code section: an entry program or a subprogram.
struct Function {
  std::string_view name;  // into the ELF file's string table
  std::size_t section = 0;  // ELF section index
  std::uint32_t start = 0;  // first slot within the section
  std::uint32_t size = 0;   // slots
  bool is_subprogram = false;
  bool hidden = false;      // global with hidden/internal visibility
  std::span<isa::RawInsn> insns;  // into ReaderContext::code of its section
};

// A relocation against one instruction, classified.
struct CodeReloc {
  std::uint32_t function = 0;  // index in ReaderContext::functions
  std::uint32_t insn = 0;  // slot within the function
  RelocKind kind = RelocKind::MapFd;
  std::uint32_t target = 0;       // map or extern index, or (calls, callbacks) the target slot in .text
  std::uint32_t offset = 0;       // MapValue: the symbol's offset in its section
  std::size_t rel_section = 0;    // for error messages
  std::size_t rel_index = 0;
};

struct ReaderContext {
  ReaderContext(const ElfFile& file, std::string name) : elf(file), object_name(std::move(name)) {}

  const ElfFile& elf;
  std::string object_name;
  std::vector<SectionRole> roles;  // by ELF section index
  std::optional<std::size_t> text_section;
  std::optional<std::size_t> btf_maps_section;
  std::optional<std::size_t> legacy_maps_section;
  std::vector<std::vector<isa::RawInsn>> code;     // by ELF section index: each code section's slots
  std::vector<Function> functions;                 // by section index, then start
  std::vector<CodeReloc> all_code_relocs;                // sorted by (function, insn)
  std::vector<std::span<const CodeReloc>> code_relocs;   // per function, into all_code_relocs
  std::vector<std::vector<std::uint32_t>> slot_owner;    // by code section: function index of each slot
  std::optional<btf::BtfExt> btf_ext;
  std::vector<std::size_t> extern_symbols;  // ELF symbol index of each model.externs[i]
  struct BtfMapVar {
    std::size_t map = 0;            // index in model.maps
    std::uint32_t var_size = 0;     // bytes the variable spans in .maps
    std::uint32_t def_struct = 0;   // its definition STRUCT
  };
  std::vector<BtfMapVar> btf_map_vars;
  ObjectModel model;

  const ElfSection& section(std::size_t index) const { return elf.sections()[index - 1]; }
  bool section_exists(std::size_t index) const { return index >= 1 && index <= elf.sections().size(); }
  std::string section_name(std::size_t index) const {
    return section_exists(index) ? std::string(section(index).name) : std::string("<none>");
  }
  // The function of section `section` that contains slot `slot`, if any.
  std::optional<std::size_t> function_at(std::size_t section, std::uint64_t slot) const;
};

// The reader's steps, in the order object_reader.cpp runs them.
Status collect_sections(ReaderContext& ctx);
Status collect_functions(ReaderContext& ctx);
Status read_btf(ReaderContext& ctx);
Status collect_externs(ReaderContext& ctx);       // also lays out .kconfig/.ksyms in BTF
Status fix_up_datasecs(ReaderContext& ctx);
Status collect_maps(ReaderContext& ctx);
Status collect_code_relocations(ReaderContext& ctx);
Status collect_map_slots(ReaderContext& ctx);
Status link_programs(ReaderContext& ctx);
Status mark_hidden_subprograms_static(ReaderContext& ctx);

}  // namespace bpfsign::object::detail
