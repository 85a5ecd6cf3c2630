// The object reader's driver and its first steps: classify sections, find
// functions, parse BTF. Each later step lives in its own file
// (reader_context.hpp lists them).
#include "bpfsign/object/object_reader.hpp"

#include <elf.h>

#include <algorithm>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object {

namespace detail {

constexpr std::uint32_t kNoFunction = 0xffffffffu;

std::optional<std::size_t> ReaderContext::function_at(std::size_t sec, std::uint64_t slot) const {
  if (sec >= slot_owner.size() || slot >= slot_owner[sec].size()) return std::nullopt;
  const std::uint32_t owner = slot_owner[sec][static_cast<std::size_t>(slot)];
  if (owner == kNoFunction) return std::nullopt;
  return owner;
}

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_named(std::string_view name, std::string_view base) {
  return name == base || (starts_with(name, base) && name.size() > base.size() && name[base.size()] == '.');
}

Result<std::string> read_license(const ElfSection& s) {
  const auto* begin = reinterpret_cast<const char*>(s.data.data());
  const auto* end = std::find(begin, begin + s.data.size(), '\0');
  if (end == begin + s.data.size()) {
    return bad_input("section {} (license): the license string is not NUL-terminated within {} bytes", s.index, s.data.size());
  }
  return std::string(begin, end);
}

}  // namespace

Status collect_sections(ReaderContext& ctx) {
  const auto& sections = ctx.elf.sections();
  ctx.roles.assign(sections.size() + 1, SectionRole::Other);
  bool have_symtab = false;
  for (const ElfSection& s : sections) {
    if (s.index != static_cast<std::size_t>(&s - sections.data()) + 1) internal_error("ELF sections out of order");
    if (!s.loaded && s.type != SHT_NOBITS) continue;  // debug information: not read, not used
    if (s.type == SHT_SYMTAB) {
      if (have_symtab) return bad_input("section {} ({}): a second symbol table", s.index, s.name);
      have_symtab = true;
    }
    if (s.name == "license") {
      auto lic = read_license(s);
      if (!lic) return lic.error();
      ctx.model.license = *lic;
    } else if (s.name == "version") {
      if (s.data.size() != 4) return bad_input("section {} (version): size {}, expected 4", s.index, s.data.size());
      std::uint32_t v = 0;
      std::memcpy(&v, s.data.data(), 4);
      ctx.model.kernel_version = v;
    } else if (s.name == ".maps") {
      ctx.btf_maps_section = s.index;
      ctx.roles[s.index] = SectionRole::BtfMaps;
    } else if (s.name == "maps") {
      ctx.legacy_maps_section = s.index;
      ctx.roles[s.index] = SectionRole::LegacyMaps;
    } else if (s.type == SHT_PROGBITS && s.size > 0 && (s.flags & SHF_EXECINSTR) != 0) {
      if (s.size % isa::kInsnSize != 0) {
        return bad_input("section {} ({}): code size {} is not a multiple of {}", s.index, s.name, s.size, isa::kInsnSize);
      }
      ctx.roles[s.index] = SectionRole::Code;
      if (s.name == ".text") ctx.text_section = s.index;
    } else if (s.type == SHT_PROGBITS && s.size > 0 && is_named(s.name, ".data")) {
      ctx.roles[s.index] = SectionRole::Data;
    } else if (s.type == SHT_PROGBITS && s.size > 0 && is_named(s.name, ".rodata")) {
      ctx.roles[s.index] = SectionRole::Rodata;
    } else if (s.type == SHT_NOBITS && is_named(s.name, ".bss")) {
      ctx.roles[s.index] = SectionRole::Bss;
    } else if (s.type == SHT_REL) {
      if (s.entsize != sizeof(Elf64_Rel) || s.size % sizeof(Elf64_Rel) != 0) {
        return bad_input("section {} ({}): relocation entry size {} / section size {} (expected entries of {} bytes)",
                         s.index, s.name, s.entsize, s.size, sizeof(Elf64_Rel));
      }
      if (!ctx.section_exists(s.info)) {
        return bad_input("section {} ({}): relocates section {}, which does not exist", s.index, s.name, s.info);
      }
      ctx.roles[s.index] = SectionRole::Relocations;
    } else if (s.type == SHT_RELA) {
      return bad_input("section {} ({}): RELA relocations are not used by BPF objects", s.index, s.name);
    }
  }
  if (!have_symtab) return bad_input("no symbol table (stripped object?)");
  return Ok{};
}

Status collect_functions(ReaderContext& ctx) {
  // Each code section's slots, once; functions are spans into them.
  ctx.code.assign(ctx.roles.size(), {});
  for (const ElfSection& s : ctx.elf.sections()) {
    if (ctx.roles[s.index] != SectionRole::Code) continue;
    auto& slots = ctx.code[s.index];
    slots.resize(static_cast<std::size_t>(s.size / isa::kInsnSize));
    for (std::size_t i = 0; i < slots.size(); ++i) slots[i] = isa::raw_from_bytes(s.data.data() + i * isa::kInsnSize);
  }
  ctx.functions.reserve(static_cast<std::size_t>(std::count_if(ctx.elf.symbols().begin(), ctx.elf.symbols().end(),
                                                               [](const ElfSymbol& sym) { return sym.type == STT_FUNC; })));
  for (const ElfSymbol& sym : ctx.elf.symbols()) {
    if (sym.type != STT_FUNC || sym.section == SHN_UNDEF || sym.section >= SHN_LORESERVE) continue;
    if (!ctx.section_exists(sym.section) || ctx.roles[sym.section] != SectionRole::Code) continue;
    const ElfSection& sec = ctx.section(sym.section);
    auto where = [&] { return fmt::format("section {} ({}): function '{}' at offset {}", sec.index, sec.name, sym.name, sym.value); };
    if (sym.value % isa::kInsnSize != 0 || sym.size % isa::kInsnSize != 0 || sym.size == 0) {
      return bad_input("{}: offset and size {} must be non-zero multiples of {}", where(), sym.size, isa::kInsnSize);
    }
    if (!range_fits(sym.value, sym.size, sec.size)) return bad_input("{}: its {} bytes cross the end of the {}-byte section", where(), sym.size, sec.size);
    const bool in_text = ctx.text_section && *ctx.text_section == sec.index;
    if (!in_text && sym.bind == STB_LOCAL) return bad_input("{}: static entry programs are not supported (libbpf refuses them too)", where());
    Function f;
    f.name = sym.name;
    f.section = sec.index;
    f.start = static_cast<std::uint32_t>(sym.value / isa::kInsnSize);
    f.size = static_cast<std::uint32_t>(sym.size / isa::kInsnSize);
    f.is_subprogram = in_text;
    f.hidden = sym.bind != STB_LOCAL && (sym.visibility == STV_HIDDEN || sym.visibility == STV_INTERNAL);
    f.insns = std::span<isa::RawInsn>(ctx.code[sec.index]).subspan(f.start, f.size);
    // Strict decoding validates every instruction now, so that nothing
    // later meets an encoding the kernel would refuse.
    if (auto valid = isa::validate_program(f.insns); !valid) return valid.error().with_context(where());
    ctx.functions.push_back(std::move(f));
  }
  auto by_place = [](const Function& a, const Function& b) {
    return a.section != b.section ? a.section < b.section : a.start < b.start;
  };
  // clang writes symbols in this order already; sort only when it did not.
  if (!std::is_sorted(ctx.functions.begin(), ctx.functions.end(), by_place)) {
    std::sort(ctx.functions.begin(), ctx.functions.end(), by_place);
  }
  for (std::size_t i = 1; i < ctx.functions.size(); ++i) {
    const Function& a = ctx.functions[i - 1];
    const Function& b = ctx.functions[i];
    if (a.section == b.section && a.start + a.size > b.start) {
      return bad_input("section {} ({}): functions '{}' and '{}' overlap", a.section, ctx.section_name(a.section), a.name, b.name);
    }
  }
  // Which function owns each slot: O(1) lookups for relocations and calls.
  ctx.slot_owner.assign(ctx.roles.size(), {});
  for (std::size_t i = 0; i < ctx.functions.size(); ++i) {
    const Function& f = ctx.functions[i];
    auto& owner = ctx.slot_owner[f.section];
    if (owner.empty()) owner.assign(ctx.code[f.section].size(), kNoFunction);
    std::fill_n(owner.begin() + f.start, f.size, static_cast<std::uint32_t>(i));
  }
  ctx.code_relocs.assign(ctx.functions.size(), {});
  return Ok{};
}

Status read_btf(ReaderContext& ctx) {
  const ElfSection* btf_sec = ctx.elf.find_section(".BTF");
  const ElfSection* ext_sec = ctx.elf.find_section(".BTF.ext");
  if (btf_sec == nullptr) {
    if (ctx.btf_maps_section) return bad_input("section .maps needs BTF, but there is no .BTF section");
    return Ok{};
  }
  if (btf_sec->type != SHT_PROGBITS) return bad_input("section {} (.BTF): type {} is not PROGBITS", btf_sec->index, btf_sec->type);
  auto btf = btf::Btf::parse(btf_sec->data);
  if (!btf) return btf.error().with_context(fmt::format("section {} (.BTF)", btf_sec->index));
  ctx.model.btf = std::move(btf).value();
  if (ext_sec != nullptr) {
    if (ext_sec->type != SHT_PROGBITS) return bad_input("section {} (.BTF.ext): type {} is not PROGBITS", ext_sec->index, ext_sec->type);
    auto ext = btf::BtfExt::parse(ext_sec->data, *ctx.model.btf);
    if (!ext) return ext.error().with_context(fmt::format("section {} (.BTF.ext)", ext_sec->index));
    ctx.btf_ext = std::move(ext).value();
    ctx.model.has_btf_ext = true;
  }
  return Ok{};
}

}  // namespace detail

namespace {

std::string default_object_name(const std::string& file_name) {
  std::string base = std::filesystem::path(file_name).filename().string();
  return base.substr(0, base.find('.'));
}

}  // namespace

Result<ObjectModel> read_object(const ElfFile& elf, const ReadOptions& options) {
  detail::ReaderContext ctx(elf, options.object_name.empty() ? default_object_name(elf.name()) : options.object_name);
  ctx.model.name = ctx.object_name;
  using Step = Status (*)(detail::ReaderContext&);
  static constexpr Step kSteps[] = {
      detail::collect_sections,   detail::collect_functions,       detail::read_btf,
      detail::collect_externs,    detail::fix_up_datasecs,         detail::collect_maps,
      detail::collect_code_relocations, detail::collect_map_slots, detail::link_programs,
      detail::mark_hidden_subprograms_static,
  };
  for (Step step : kSteps) {
    if (auto s = step(ctx); !s) return s.error().with_context(elf.name());
  }
  return std::move(ctx.model);
}

Result<ObjectModel> read_object_file(const std::filesystem::path& path, const ReadOptions& options) {
  auto elf = ElfFile::open(path);
  if (!elf) return elf.error();
  return read_object(*elf, options);
}

const Map* ObjectModel::find_map(std::string_view wanted) const {
  for (const auto& m : maps) {
    if (m.name == wanted) return &m;
  }
  return nullptr;
}

const Program* ObjectModel::find_program(std::string_view wanted) const {
  for (const auto& p : programs) {
    if (p.name == wanted) return &p;
  }
  return nullptr;
}

}  // namespace bpfsign::object
