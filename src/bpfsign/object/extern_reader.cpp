// Externs: .kconfig values, .ksyms variables and kfuncs. Also lays out the
// .kconfig and .ksyms DATASECs in BTF the way libbpf does before the kernel
// sees them (bpf_object__collect_externs), so that our BTF is the same bytes.
#include <elf.h>

#include <algorithm>

#include "bpfsign/common/stable_sort.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

using btf::Kind;

bool is_extern_symbol(const ElfSymbol& s) {
  return s.section == SHN_UNDEF && (s.bind == STB_GLOBAL || s.bind == STB_WEAK) && s.type == STT_NOTYPE &&
         !s.name.empty();
}

Result<std::uint32_t> find_extern_btf_id(const btf::Btf& b, std::string_view name) {
  for (std::uint32_t id = 1; id <= b.type_count(); ++id) {
    const Kind k = b.kind(id);
    if ((k != Kind::Var && k != Kind::Func) || b.name(id) != name) continue;
    if (k == Kind::Var && b.var_linkage(id) != btf::VarLinkage::GlobalExtern) {
      return bad_input("BTF VAR [{}] '{}' is not extern", id, name);
    }
    if (k == Kind::Func && b.vlen(id) != static_cast<std::uint32_t>(btf::FuncLinkage::Extern)) {
      return bad_input("BTF FUNC [{}] '{}' is not extern", id, name);
    }
    return id;
  }
  return bad_input("extern '{}' has no BTF VAR or FUNC", name);
}

std::optional<std::uint32_t> datasec_holding(const btf::Btf& b, std::uint32_t id) {
  for (std::uint32_t s = 1; s <= b.type_count(); ++s) {
    if (b.kind(s) != Kind::Datasec) continue;
    for (const auto& v : b.datasec_vars(s)) {
      if (v.type == id) return s;
    }
  }
  return std::nullopt;
}

KconfigType kconfig_type_of(const btf::Btf& b, std::uint32_t id, bool* is_signed, int depth = 0) {
  id = b.skip_modifiers_and_typedefs(id);
  switch (b.kind(id)) {
    case Kind::Int: {
      const std::uint32_t enc = (b.int_encoding(id) >> 24) & 0x0f;
      const std::uint32_t size = b.size_or_type(id);
      if (enc & 4u) return size == 1 ? KconfigType::Bool : KconfigType::None;
      if (is_signed != nullptr) *is_signed = (enc & 1u) != 0;
      if (size == 1) return KconfigType::Char;
      if (size < 1 || size > 8 || (size & (size - 1)) != 0) return KconfigType::None;
      return KconfigType::Int;
    }
    case Kind::Enum: case Kind::Enum64:
      if (b.name(id) != "libbpf_tristate" || (b.kind(id) == Kind::Enum && b.size_or_type(id) != 4)) return KconfigType::None;
      return KconfigType::Tristate;
    case Kind::Array:
      if (depth > 0 || b.array(id).nelems == 0) return KconfigType::None;
      return kconfig_type_of(b, b.array(id).type, nullptr, depth + 1) == KconfigType::Char ? KconfigType::CharArray
                                                                                            : KconfigType::None;
    default:
      return KconfigType::None;
  }
}

// libbpf's cmp_externs: .kconfig first (by alignment descending, then size
// ascending), then .ksyms; ties by name.
bool extern_order(const Extern& a, const Extern& b) {
  const bool ak = a.kind == ExternKind::Kconfig, bk = b.kind == ExternKind::Kconfig;
  if (ak != bk) return ak;
  if (ak) {
    if (a.kconfig_align != b.kconfig_align) return a.kconfig_align > b.kconfig_align;
    if (a.kconfig_size != b.kconfig_size) return a.kconfig_size < b.kconfig_size;
  }
  return a.name < b.name;
}

std::uint32_t first_int32(const btf::Btf& b) {
  for (std::uint32_t id = 1; id <= b.type_count(); ++id) {
    if (b.kind(id) == Kind::Int && (b.int_encoding(id) & 0xff) == 32) return id;
  }
  return 0;
}

// Every .ksyms entry becomes a 4-byte allocated int variable, and kfuncs
// point at one shared dummy variable: the kernel rejects a DATASEC that
// holds FUNCs or extern VARs.
Status lay_out_ksyms(btf::Btf& b, std::uint32_t sec, std::uint32_t dummy_var) {
  const std::uint32_t int_id = first_int32(b);
  const std::uint32_t dummy_name = dummy_var != 0 ? b.name_off(dummy_var) : 0;
  const std::uint32_t n = b.vlen(sec);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t base = 3 + 3 * i;
    const std::uint32_t vt = b.word(sec, base);
    if (b.kind(vt) == Kind::Func) {
      const std::uint32_t proto = b.size_or_type(vt);
      for (std::uint32_t p = 0; p < b.vlen(proto); ++p) {
        if (b.word(proto, 4 + 2 * p) != 0 && b.word(proto, 3 + 2 * p) == 0) b.set_word(proto, 3 + 2 * p, dummy_name);
      }
      b.set_word(sec, base, dummy_var);
      b.set_word(vt, 1, btf::make_info(Kind::Func, static_cast<std::uint32_t>(btf::FuncLinkage::Global), false));
    } else if (b.kind(vt) == Kind::Var) {
      b.set_word(vt, 3, static_cast<std::uint32_t>(btf::VarLinkage::GlobalAllocated));
      b.set_word(vt, 2, int_id);
    } else {
      return bad_input(".ksyms DATASEC [{}] entry {} is a {}, not a VAR or FUNC", sec, i, btf::kind_name(b.kind(vt)));
    }
    b.set_word(sec, base + 1, i * 4);
    b.set_word(sec, base + 2, 4);
  }
  b.set_word(sec, 2, n * 4);
  return Ok{};
}

}  // namespace

Status collect_externs(ReaderContext& ctx) {
  std::vector<std::size_t> symbols;
  for (const ElfSymbol& s : ctx.elf.symbols()) {
    if (is_extern_symbol(s)) symbols.push_back(s.index);
  }
  if (symbols.empty()) return Ok{};
  if (!ctx.model.btf) return bad_input("extern '{}' needs BTF, but there is no .BTF section", ctx.elf.symbols()[symbols[0]].name);
  btf::Btf& b = *ctx.model.btf;

  // The dummy variable comes first, as libbpf adds it before looking at externs.
  std::uint32_t dummy_var = 0;
  const auto ksyms_sec = b.find(".ksyms", Kind::Datasec);
  if (ksyms_sec) {
    for (const auto& v : b.datasec_vars(*ksyms_sec)) {
      if (b.kind(v.type) == Kind::Func) {
        dummy_var = b.add_var("dummy_ksym", first_int32(b), btf::VarLinkage::GlobalAllocated);
        break;
      }
    }
  }

  std::vector<std::pair<Extern, std::size_t>> found;  // with its symbol index
  for (std::size_t index : symbols) {
    const ElfSymbol& sym = ctx.elf.symbols()[index];
    auto fail = [&](const Error& e) -> Status { return e.with_context(fmt::format("extern '{}' (symbol {})", sym.name, index)); };
    auto id = find_extern_btf_id(b, sym.name);
    if (!id) return fail(id.error());
    auto sec = datasec_holding(b, *id);
    if (!sec) return fail(bad_input("BTF [{}] is in no DATASEC", *id));
    Extern e;
    e.name = sym.name;
    e.weak = sym.bind == STB_WEAK;
    e.btf_id = *id;
    const std::string_view sec_name = b.name(*sec);
    if (sec_name == ".kconfig") {
      if (b.kind(*id) == Kind::Func) return fail(bad_input("functions cannot be .kconfig externs"));
      const KconfigSource source = kconfig_source(e.name);
      if (source == KconfigSource::Unrecognized || (source == KconfigSource::UnknownLinux && !e.weak)) {
        return fail(bad_input("not a CONFIG_ name, one of libbpf's LINUX_KERNEL_VERSION, LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER, "
                              "or a weak LINUX_ name (libbpf refuses it as an unrecognized virtual extern)"));
      }
      e.kind = ExternKind::Kconfig;
      auto size = b.resolve_size(b.size_or_type(*id));
      if (!size || *size == 0) return fail(bad_input("cannot size its type [{}]", b.size_or_type(*id)));
      auto align = b.alignment(b.size_or_type(*id));
      if (!align || *align == 0) return fail(bad_input("cannot align its type [{}]", b.size_or_type(*id)));
      e.kconfig_size = static_cast<std::uint32_t>(*size);
      e.kconfig_align = *align;
      e.kconfig_type = kconfig_type_of(b, b.size_or_type(*id), &e.kconfig_signed);
      if (e.kconfig_type == KconfigType::None) return fail(bad_input("type [{}] is not a supported kconfig type", b.size_or_type(*id)));
    } else if (sec_name == ".ksyms") {
      if (b.kind(*id) == Kind::Func) {
        e.kind = ExternKind::Kfunc;
        e.typed = true;
        e.type_id = b.size_or_type(*id);
      } else {
        e.kind = ExternKind::Ksym;
        e.type_id = b.skip_modifiers_and_typedefs(b.size_or_type(*id));
        e.typed = e.type_id != 0;
      }
    } else {
      return fail(bad_input("extern section '{}' is neither .kconfig nor .ksyms", sec_name));
    }
    found.emplace_back(std::move(e), index);
  }
  stable_sort_vector(found, [](const auto& x, const auto& y) { return extern_order(x.first, y.first); });
  std::vector<Extern>& externs = ctx.model.externs;
  for (auto& [e, index] : found) {
    externs.push_back(std::move(e));
    ctx.extern_symbols.push_back(index);
  }

  // .kconfig: offsets in sorted order, each aligned; the DATASEC records them.
  std::uint32_t off = 0;
  bool have_kconfig = false;
  for (Extern& e : externs) {
    if (e.kind != ExternKind::Kconfig) continue;
    have_kconfig = true;
    const std::uint64_t aligned = (std::uint64_t{off} + e.kconfig_align - 1) / e.kconfig_align * e.kconfig_align;
    if (aligned + e.kconfig_size > 0xffffffffu) return bad_input(".kconfig: externs exceed 4 GiB");
    e.kconfig_offset = static_cast<std::uint32_t>(aligned);
    off = static_cast<std::uint32_t>(aligned + e.kconfig_size);
  }
  if (have_kconfig) {
    const auto sec = b.find(".kconfig", Kind::Datasec);
    if (!sec) internal_error(".kconfig DATASEC vanished");
    b.set_word(*sec, 2, off);
    for (std::uint32_t i = 0; i < b.vlen(*sec); ++i) {
      const std::uint32_t vt = b.word(*sec, 3 + 3 * i);
      auto it = std::find_if(externs.begin(), externs.end(), [&](const Extern& e) { return e.name == b.name(vt); });
      if (it == externs.end()) return bad_input(".kconfig DATASEC: variable '{}' has no extern symbol", b.name(vt));
      b.set_word(vt, 3, static_cast<std::uint32_t>(btf::VarLinkage::GlobalAllocated));
      b.set_word(*sec, 3 + 3 * i + 1, it->kconfig_offset);
    }
  }
  if (ksyms_sec) {
    for (const auto& v : b.datasec_vars(*ksyms_sec)) {
      auto it = std::find_if(externs.begin(), externs.end(), [&](const Extern& e) { return e.name == b.name(v.type); });
      if (it == externs.end()) return bad_input(".ksyms DATASEC: '{}' has no extern symbol", b.name(v.type));
    }
    if (auto s = lay_out_ksyms(b, *ksyms_sec, dummy_var); !s) return s;
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
