// Relocations against code: each entry of a .rel<code section> is checked
// (type, offset, symbol, the instruction it patches) and classified as
// libbpf's bpf_program__record_reloc does.
#include <elf.h>

#include <algorithm>
#include <cstring>

#include "bpfsign/isa/opcodes.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

constexpr std::uint32_t kRelBpf64_64 = 1;   // R_BPF_64_64: ld_imm64
constexpr std::uint32_t kRelBpf64_32 = 10;  // R_BPF_64_32: call
constexpr std::uint8_t kCodeCall = isa::kClassJmp | isa::kJmpCall;
constexpr std::uint8_t kCodeLdImm64 = isa::kClassLd | isa::kSizeDW | isa::kModeImm;

bool is_subprogram_symbol(const ElfSymbol& s, std::optional<std::size_t> text) {
  if (!text || s.section != *text) return false;
  if (s.bind == STB_LOCAL && s.type == STT_SECTION) return true;
  return s.bind == STB_GLOBAL && s.type == STT_FUNC;
}

Result<CodeReloc> classify(const ReaderContext& ctx, const Function& fn, std::uint32_t slot, const isa::RawInsn& insn,
                           const ElfSymbol& sym, std::size_t sym_index) {
  CodeReloc r;
  r.insn = slot;
  const bool is_call = insn.code == kCodeCall;
  // Externs: kfunc calls, ksym addresses, kconfig values.
  const auto ext = std::find(ctx.extern_symbols.begin(), ctx.extern_symbols.end(), sym_index);
  if (ext != ctx.extern_symbols.end()) {
    r.target = static_cast<std::uint32_t>(ext - ctx.extern_symbols.begin());
    const Extern& e = ctx.model.externs[r.target];
    if (is_call) {
      if (e.kind != ExternKind::Kfunc) return bad_input("call to extern '{}', which is not a kernel function", e.name);
      r.kind = RelocKind::KfuncCall;
    } else {
      r.kind = e.kind == ExternKind::Kconfig ? RelocKind::KconfigValue : RelocKind::KsymAddr;
      r.offset = e.kconfig_offset;
    }
    return r;
  }
  if (is_call) {
    if (insn.src != static_cast<std::uint8_t>(isa::CallKind::Local)) return bad_input("relocated call is not a BPF-to-BPF call (src_reg {})", insn.src);
    if (!ctx.text_section || sym.section != *ctx.text_section) {
      return bad_input("call to '{}' in section '{}': subprograms must be in .text", sym.name, ctx.section_name(sym.section));
    }
    if (sym.value % isa::kInsnSize != 0) return bad_input("call to '{}' at unaligned offset {}", sym.name, sym.value);
    const std::int64_t target = static_cast<std::int64_t>(sym.value / isa::kInsnSize) + insn.imm + 1;
    if (target < 0 || target > 0xffffffff) return bad_input("call to '{}' lands at slot {}", sym.name, target);
    r.kind = RelocKind::SubprogCall;
    r.target = static_cast<std::uint32_t>(target);
    return r;
  }
  if (sym.section == SHN_UNDEF || sym.section >= SHN_LORESERVE) {
    return bad_input("ld_imm64 of '{}' in special section 0x{:x} (an uninitialised global variable?)", sym.name, sym.section);
  }
  if (is_subprogram_symbol(sym, ctx.text_section)) {
    // clang leaves src_reg 0; the reader marks it BPF_PSEUDO_FUNC (below), as libbpf does.
    if (insn.src != 0 && insn.src != static_cast<std::uint8_t>(isa::PseudoSrc::Func)) {
      return bad_input("reference to function '{}' is an ld_imm64 with src_reg {}", sym.name, insn.src);
    }
    if (sym.value % isa::kInsnSize != 0 || insn.imm % static_cast<std::int32_t>(isa::kInsnSize) != 0) {
      return bad_input("reference to function '{}' at unaligned offset {}{:+}", sym.name, sym.value, insn.imm);
    }
    const std::int64_t target = (static_cast<std::int64_t>(sym.value) + insn.imm) / static_cast<std::int64_t>(isa::kInsnSize);
    if (target < 0 || target > 0xffffffff) return bad_input("reference to function '{}' lands at slot {}", sym.name, target);
    r.kind = RelocKind::SubprogAddr;
    r.target = static_cast<std::uint32_t>(target);
    return r;
  }
  if (!ctx.section_exists(sym.section)) return bad_input("symbol '{}' is in section {}, which does not exist", sym.name, sym.section);
  const SectionRole role = ctx.roles[sym.section];
  const std::string_view sec_name = ctx.section(sym.section).name;
  if (role == SectionRole::BtfMaps || role == SectionRole::LegacyMaps) {
    const MapOrigin origin = role == SectionRole::BtfMaps ? MapOrigin::BtfDefined : MapOrigin::Legacy;
    for (std::size_t i = 0; i < ctx.model.maps.size(); ++i) {
      const Map& m = ctx.model.maps[i];
      if (m.origin == origin && m.section_offset == sym.value) {
        r.kind = RelocKind::MapFd;
        r.target = static_cast<std::uint32_t>(i);
        return r;
      }
    }
    return bad_input("no map at offset {} of section '{}' for symbol '{}'", sym.value, sec_name, sym.name);
  }
  if (role == SectionRole::Data || role == SectionRole::Rodata || role == SectionRole::Bss) {
    for (std::size_t i = 0; i < ctx.model.maps.size(); ++i) {
      const Map& m = ctx.model.maps[i];
      if (m.origin != MapOrigin::BtfDefined && m.origin != MapOrigin::Legacy && m.section == sec_name) {
        if (sym.value > 0xffffffffu) return bad_input("symbol '{}' offset {} exceeds 32 bits", sym.name, sym.value);
        r.kind = RelocKind::MapValue;
        r.target = static_cast<std::uint32_t>(i);
        r.offset = static_cast<std::uint32_t>(sym.value);
        return r;
      }
    }
    return bad_input("no data map for section '{}' (symbol '{}')", sec_name, sym.name);
  }
  (void)fn;
  return bad_input("ld_imm64 of '{}' in section '{}', which holds neither maps nor data", sym.name, sec_name);
}

}  // namespace

Status collect_code_relocations(ReaderContext& ctx) {
  auto relocates_code = [&](const ElfSection& rel) {
    return ctx.roles[rel.index] == SectionRole::Relocations && ctx.roles[rel.info] == SectionRole::Code;
  };
  auto entries_of = [](const ElfSection& rel) { return static_cast<std::size_t>(rel.size / sizeof(Elf64_Rel)); };
  std::size_t entries = 0;
  for (const ElfSection& rel : ctx.elf.sections()) {
    if (relocates_code(rel)) entries += entries_of(rel);
  }
  ctx.all_code_relocs.reserve(entries);
  for (const ElfSection& rel : ctx.elf.sections()) {
    if (!relocates_code(rel)) continue;
    const ElfSection& code = ctx.section(rel.info);
    const std::size_t count = entries_of(rel);
    for (std::size_t i = 0; i < count; ++i) {
      Elf64_Rel r;
      std::memcpy(&r, rel.data.data() + i * sizeof r, sizeof r);
      auto where = [&] {
        return fmt::format("section {} ({}): relocation {} at offset {} of section '{}'", rel.index, rel.name, i, r.r_offset, code.name);
      };
      const std::uint32_t type = static_cast<std::uint32_t>(ELF64_R_TYPE(r.r_info));
      if (type != kRelBpf64_64 && type != kRelBpf64_32) {
        return bad_input("{}: relocation type {} is not R_BPF_64_64 (1) or R_BPF_64_32 (10)", where(), type);
      }
      if (r.r_offset % isa::kInsnSize != 0 || !range_fits(r.r_offset, isa::kInsnSize, code.size)) {
        return bad_input("{}: does not land on an instruction of the {}-byte section", where(), code.size);
      }
      const std::uint64_t sym_index = ELF64_R_SYM(r.r_info);
      if (sym_index >= ctx.elf.symbols().size()) {
        return bad_input("{}: symbol index {} is out of range ({} symbols)", where(), sym_index, ctx.elf.symbols().size());
      }
      const std::uint64_t slot = r.r_offset / isa::kInsnSize;
      const auto fi = ctx.function_at(code.index, slot);
      if (!fi) return bad_input("{}: lands outside every function", where());
      const Function& fn = ctx.functions[*fi];
      const auto fn_slot = static_cast<std::uint32_t>(slot - fn.start);
      const isa::RawInsn& insn = fn.insns[fn_slot];
      if (insn.code != kCodeCall && insn.code != kCodeLdImm64) {
        return bad_input("{}: instruction opcode 0x{:02x} is neither a call nor an ld_imm64", where(), insn.code);
      }
      if (insn.code == kCodeLdImm64 && fn_slot + 1 >= fn.size) return bad_input("{}: ld_imm64 is cut off by the function's end", where());
      const ElfSymbol& sym = ctx.elf.symbols()[sym_index];
      auto classified = classify(ctx, fn, fn_slot, insn, sym, static_cast<std::size_t>(sym_index));
      if (!classified) return classified.error().with_context(where());
      if (classified->kind == RelocKind::SubprogAddr) {
        ctx.functions[*fi].insns[fn_slot].src = static_cast<std::uint8_t>(isa::PseudoSrc::Func);
      }
      classified->function = static_cast<std::uint32_t>(*fi);
      classified->rel_section = rel.index;
      classified->rel_index = i;
      ctx.all_code_relocs.push_back(*classified);
    }
  }
  auto& all = ctx.all_code_relocs;
  auto by_place = [](const CodeReloc& a, const CodeReloc& b) {
    return a.function != b.function ? a.function < b.function : a.insn < b.insn;
  };
  // clang writes each section's relocations in offset order, so this is
  // usually sorted already; checking is cheaper than sorting again.
  if (!std::is_sorted(all.begin(), all.end(), by_place)) std::sort(all.begin(), all.end(), by_place);
  for (std::size_t k = 0; k < all.size();) {
    std::size_t end = k + 1;
    while (end < all.size() && all[end].function == all[k].function) {
      if (all[end].insn == all[end - 1].insn) {
        const ElfSection& rel = ctx.section(all[end].rel_section);
        return bad_input("section {} ({}): relocation {}: a second relocation for instruction {} of function '{}'", rel.index,
                         rel.name, all[end].rel_index, all[end].insn, ctx.functions[all[end].function].name);
      }
      ++end;
    }
    ctx.code_relocs[all[k].function] = std::span<const CodeReloc>(all.data() + k, end - k);
    k = end;
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
