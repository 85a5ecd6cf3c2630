// BTF fixups that need the ELF file: DATASEC sizes and variable offsets
// (clang leaves them 0), hidden globals made static, hidden subprograms'
// FUNCs made static. Same rules and order as libbpf (bpf_object_fixup_btf,
// bpf_object__sanitize_and_load_btf), so the kernel gets the same BTF.
#include <elf.h>

#include <algorithm>

#include "bpfsign/common/stable_sort.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

using btf::Kind;

const ElfSymbol* find_global_object(const ElfFile& elf, std::string_view name) {
  for (const ElfSymbol& s : elf.symbols()) {
    if (s.type == STT_OBJECT && (s.bind == STB_GLOBAL || s.bind == STB_WEAK) && s.name == name) return &s;
  }
  return nullptr;
}

bool vars_sorted_by_offset(const btf::Btf& b, std::uint32_t sec) {
  for (std::uint32_t i = 1; i < b.vlen(sec); ++i) {
    if (b.word(sec, 4 + 3 * (i - 1)) > b.word(sec, 4 + 3 * i)) return false;
  }
  return true;
}

void sort_vars_by_offset(btf::Btf& b, std::uint32_t sec) {
  if (vars_sorted_by_offset(b, sec)) return;  // as clang writes most: nothing to copy
  auto vars = b.datasec_vars(sec);
  stable_sort_vector(vars, [](const auto& x, const auto& y) { return x.offset < y.offset; });
  for (std::uint32_t i = 0; i < vars.size(); ++i) {
    b.set_word(sec, 3 + 3 * i, vars[i].type);
    b.set_word(sec, 4 + 3 * i, vars[i].offset);
    b.set_word(sec, 5 + 3 * i, vars[i].size);
  }
}

Status fix_up_datasec(ReaderContext& ctx, std::uint32_t sec) {
  btf::Btf& b = *ctx.model.btf;
  const std::string name(b.name(sec));
  auto fail = [&](const Error& e) -> Status { return e.with_context(fmt::format("BTF DATASEC [{}] '{}'", sec, name)); };
  if (name == ".kconfig" || name == ".ksyms") {  // laid out with the externs
    sort_vars_by_offset(b, sec);
    return Ok{};
  }
  bool fix_offsets = false;
  if (b.size_or_type(sec) == 0) {
    const ElfSection* elf_sec = ctx.elf.find_section(name);
    if (elf_sec == nullptr || elf_sec->size == 0 || elf_sec->size > 0xffffffffu) {
      return fail(bad_input("no non-empty ELF section of that name gives its size"));
    }
    b.set_word(sec, 2, static_cast<std::uint32_t>(elf_sec->size));
    fix_offsets = true;
  }
  for (std::uint32_t i = 0; i < b.vlen(sec); ++i) {
    const std::uint32_t var = b.word(sec, 3 + 3 * i);
    if (b.kind(var) != Kind::Var) return fail(bad_input("entry {} is a {}, not a VAR", i, btf::kind_name(b.kind(var))));
    const auto linkage = b.var_linkage(var);
    if (linkage == btf::VarLinkage::Static || linkage == btf::VarLinkage::GlobalExtern) continue;
    const ElfSymbol* sym = find_global_object(ctx.elf, b.name(var));
    if (sym == nullptr) return fail(bad_input("variable '{}' has no global ELF symbol", b.name(var)));
    if (fix_offsets) {
      if (sym->value > 0xffffffffu) return fail(bad_input("variable '{}' offset {} exceeds 32 bits", b.name(var), sym->value));
      b.set_word(sec, 4 + 3 * i, static_cast<std::uint32_t>(sym->value));
    }
    // A hidden global is private to the object: static for the kernel, and
    // it does not make the map mmapable (map_is_mmapable).
    if (sym->visibility == STV_HIDDEN || sym->visibility == STV_INTERNAL) {
      b.set_word(var, 3, static_cast<std::uint32_t>(btf::VarLinkage::Static));
    }
  }
  sort_vars_by_offset(b, sec);
  return Ok{};
}

}  // namespace

Status fix_up_datasecs(ReaderContext& ctx) {
  if (!ctx.model.btf) return Ok{};
  for (std::uint32_t id = 1; id <= ctx.model.btf->type_count(); ++id) {
    if (ctx.model.btf->kind(id) != Kind::Datasec) continue;
    if (auto s = fix_up_datasec(ctx, id); !s) return s;
  }
  return Ok{};
}

Status mark_hidden_subprograms_static(ReaderContext& ctx) {
  if (!ctx.model.btf) return Ok{};
  btf::Btf& b = *ctx.model.btf;
  // libbpf treats .text functions as subprograms only when the object has
  // more than one function (prog_is_subprog).
  if (ctx.functions.size() <= 1) return Ok{};
  for (const Function& f : ctx.functions) {
    if (!f.is_subprogram || !f.hidden) continue;
    for (std::uint32_t id = 1; id <= b.type_count(); ++id) {
      if (b.kind(id) != Kind::Func || b.vlen(id) != static_cast<std::uint32_t>(btf::FuncLinkage::Global)) continue;
      if (b.name(id) != f.name) continue;
      b.set_word(id, 1, btf::make_info(Kind::Func, static_cast<std::uint32_t>(btf::FuncLinkage::Static), false));
      break;
    }
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
