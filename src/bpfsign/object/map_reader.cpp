// Maps: BTF-defined (.maps), legacy (maps), global data (.data*, .rodata*,
// .bss*) and .kconfig, in libbpf's order; then the initial slots of
// prog_array and map-in-map maps from the .maps relocations.
#include <elf.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/common/stable_sort.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

using btf::Kind;
constexpr std::size_t kObjNameLen = 16;  // BPF_OBJ_NAME_LEN, including the NUL

bool is_map_in_map(std::uint32_t type) { return type == abi::map_type::kArrayOfMaps || type == abi::map_type::kHashOfMaps; }

// `int (*name)[N]` encodes N: a pointer to an array of N elements.
Result<std::uint32_t> int_attribute(const btf::Btf& b, const btf::Member& m) {
  const std::uint32_t ptr = b.skip_modifiers_and_typedefs(m.type);
  if (b.kind(ptr) != Kind::Ptr) return bad_input("attribute '{}': expected PTR, got {}", b.string_at(m.name_off), btf::kind_name(b.kind(ptr)));
  const std::uint32_t arr = b.size_or_type(ptr);
  if (b.kind(arr) != Kind::Array) return bad_input("attribute '{}': expected PTR to ARRAY, got PTR to {}", b.string_at(m.name_off), btf::kind_name(b.kind(arr)));
  return b.array(arr).nelems;
}

Result<std::uint32_t> sized_type_attribute(const btf::Btf& b, const btf::Member& m, std::uint32_t* type_id) {
  if (b.kind(m.type) != Kind::Ptr) return bad_input("attribute '{}': expected PTR, got {}", b.string_at(m.name_off), btf::kind_name(b.kind(m.type)));
  *type_id = b.size_or_type(m.type);
  auto size = b.resolve_size(*type_id);
  if (!size) return size.error().with_context(fmt::format("attribute '{}'", b.string_at(m.name_off)));
  return static_cast<std::uint32_t>(*size);
}

Status set_size(std::uint32_t& field, std::uint32_t value, const char* what) {
  if (field != 0 && field != value) return bad_input("conflicting {} {} != {}", what, field, value);
  field = value;
  return Ok{};
}

// One BTF map definition (libbpf's parse_btf_map_def); `inner` is null when
// parsing an inner map, which may not nest further or be pinned.
Status parse_map_definition(const btf::Btf& b, std::uint32_t def_struct, MapDefinition& def,
                            std::optional<MapDefinition>* inner) {
  const auto members = b.members(def_struct);
  for (std::size_t i = 0; i < members.size(); ++i) {
    const btf::Member& m = members[i];
    const std::string_view name = b.string_at(m.name_off);
    auto fail = [&](const Error& e) -> Status { return e.with_context(fmt::format("field '{}'", name)); };
    Result<std::uint32_t> v = 0u;
    if (name == "type" || name == "max_entries" || name == "map_flags" || name == "numa_node" ||
        name == "key_size" || name == "value_size" || name == "pinning" || name == "map_extra") {
      v = int_attribute(b, m);
      if (!v) return v.error();
    }
    if (name == "type") {
      def.type = *v;
    } else if (name == "max_entries") {
      def.max_entries = *v;
    } else if (name == "map_flags") {
      def.flags = *v;
    } else if (name == "numa_node") {
      def.numa_node = *v;
    } else if (name == "map_extra") {
      def.map_extra = *v;
    } else if (name == "key_size") {
      if (auto s = set_size(def.key_size, *v, "key size"); !s) return fail(s.error());
    } else if (name == "value_size") {
      if (auto s = set_size(def.value_size, *v, "value size"); !s) return fail(s.error());
    } else if (name == "key" || name == "value") {
      std::uint32_t type_id = 0;
      auto size = sized_type_attribute(b, m, &type_id);
      if (!size) return size.error();
      if (name == "key") {
        if (auto s = set_size(def.key_size, *size, "key size"); !s) return fail(s.error());
        def.btf_key_type_id = type_id;
      } else {
        if (auto s = set_size(def.value_size, *size, "value size"); !s) return fail(s.error());
        def.btf_value_type_id = type_id;
      }
    } else if (name == "pinning") {
      if (inner == nullptr) return fail(bad_input("an inner map cannot be pinned"));
      if (*v > 1) return fail(bad_input("pinning {} is neither none (0) nor by name (1)", *v));
      def.pin_by_name = *v == 1;
    } else if (name == "values") {
      if (inner == nullptr) return fail(bad_input("inner maps cannot have inner maps"));
      if (i + 1 != members.size()) return fail(bad_input("must be the last field"));
      const bool prog_array = def.type == abi::map_type::kProgArray;
      if (!prog_array && !is_map_in_map(def.type)) return fail(bad_input("only prog_array and map-in-map maps have initial values"));
      if (auto s = set_size(def.value_size, 4, "value size"); !s) return fail(s.error());
      if (b.kind(m.type) != Kind::Array || b.array(m.type).nelems != 0) return fail(bad_input("expected a zero-length ARRAY"));
      const std::uint32_t ptr = b.skip_modifiers_and_typedefs(b.array(m.type).type);
      if (b.kind(ptr) != Kind::Ptr) return fail(bad_input("expected an ARRAY of PTR"));
      const std::uint32_t target = b.skip_modifiers_and_typedefs(b.size_or_type(ptr));
      if (prog_array) {
        if (b.kind(target) != Kind::FuncProto) return fail(bad_input("prog_array values must point to functions"));
        continue;
      }
      if (b.kind(target) != Kind::Struct) return fail(bad_input("map-in-map values must point to a map definition STRUCT"));
      MapDefinition inner_def;
      if (auto s = parse_map_definition(b, target, inner_def, nullptr); !s) return fail(s.error().with_context("inner map"));
      *inner = inner_def;
    } else {
      // libbpf's strict mode (the default since 1.0) rejects unknown fields.
      return fail(bad_input("unknown map definition field"));
    }
  }
  if (def.type == 0) return bad_input("map type is not specified");
  return Ok{};
}

Status collect_btf_maps(ReaderContext& ctx) {
  if (!ctx.btf_maps_section) return Ok{};
  const btf::Btf& b = *ctx.model.btf;
  const ElfSection& sec = ctx.section(*ctx.btf_maps_section);
  const auto datasec = b.find(".maps", Kind::Datasec);
  if (!datasec) return bad_input("section .maps has no BTF DATASEC '.maps'");
  for (const auto& v : b.datasec_vars(*datasec)) {
    const std::string name(b.name(v.type));
    auto fail = [&](const Error& e) -> Status { return e.with_context(fmt::format("section .maps: map '{}' at offset {}", name, v.offset)); };
    if (name.empty()) return fail(bad_input("map has no name"));
    if (!range_fits(v.offset, v.size, sec.size)) return fail(bad_input("its {} bytes lie outside the {}-byte section", v.size, sec.size));
    if (b.kind(v.type) != Kind::Var) return fail(bad_input("expected a VAR, got {}", btf::kind_name(b.kind(v.type))));
    if (b.var_linkage(v.type) != btf::VarLinkage::GlobalAllocated) return fail(bad_input("maps must be global, allocated variables"));
    const std::uint32_t def_struct = b.skip_modifiers_and_typedefs(b.size_or_type(v.type));
    if (b.kind(def_struct) != Kind::Struct) return fail(bad_input("definition is a {}, not a STRUCT", btf::kind_name(b.kind(def_struct))));
    if (b.size_or_type(def_struct) > v.size) return fail(bad_input("definition size {} exceeds the variable's {}", b.size_or_type(def_struct), v.size));
    Map map;
    map.name = name;
    map.kernel_name = name.substr(0, kObjNameLen - 1);
    map.origin = MapOrigin::BtfDefined;
    map.section = sec.name;
    map.section_offset = v.offset;
    if (auto s = parse_map_definition(b, def_struct, map.def, &map.inner); !s) return fail(s.error());
    ctx.btf_map_vars.push_back({ctx.model.maps.size(), v.size, def_struct});
    ctx.model.maps.push_back(std::move(map));
  }
  return Ok{};
}

// SEC("maps"): struct bpf_map_def { type, key_size, value_size, max_entries,
// map_flags } per symbol, every definition the same size (libbpf before 1.0).
Status collect_legacy_maps(ReaderContext& ctx) {
  if (!ctx.legacy_maps_section) return Ok{};
  const ElfSection& sec = ctx.section(*ctx.legacy_maps_section);
  std::vector<const ElfSymbol*> syms;
  for (const ElfSymbol& s : ctx.elf.symbols()) {
    if (s.section == sec.index && s.type != STT_SECTION && (s.bind == STB_GLOBAL || s.bind == STB_WEAK)) syms.push_back(&s);
  }
  if (syms.empty()) return Ok{};
  if (sec.size == 0 || sec.size % syms.size() != 0) {
    return bad_input("section {} (maps): size {} is not a multiple of its {} map definitions", sec.index, sec.size, syms.size());
  }
  constexpr std::size_t kDefWords = 5;
  const std::uint64_t def_size = sec.size / syms.size();
  for (const ElfSymbol* s : syms) {
    auto where = [&] { return fmt::format("section {} (maps): map '{}' at offset {}", sec.index, s->name, s->value); };
    if (!range_fits(s->value, def_size, sec.size)) return bad_input("{}: definition of {} bytes crosses the end", where(), def_size);
    std::uint32_t words[kDefWords] = {};
    std::memcpy(words, sec.data.data() + s->value, std::min<std::uint64_t>(def_size, sizeof words));
    for (std::uint64_t i = sizeof words; i < def_size; ++i) {
      if (sec.data[s->value + i] != 0) return bad_input("{}: byte {} beyond struct bpf_map_def is not zero", where(), i);
    }
    Map map;
    map.name = s->name;
    map.kernel_name = s->name.substr(0, kObjNameLen - 1);
    map.origin = MapOrigin::Legacy;
    map.section = sec.name;
    map.section_offset = s->value;
    map.def.type = words[0];
    map.def.key_size = words[1];
    map.def.value_size = words[2];
    map.def.max_entries = words[3];
    map.def.flags = words[4];
    if (map.def.type == 0) return bad_input("{}: map type is 0", where());
    ctx.model.maps.push_back(std::move(map));
  }
  return Ok{};
}

// libbpf's internal_map_name: as much of the object name as fits before the
// section name (which is given at least 7 characters), except for custom
// .data.*/.rodata.* sections, which keep their own name; characters the
// kernel refuses become '_'.
std::string internal_map_name(const std::string& object_name, std::string_view section) {
  std::size_t suffix = std::max<std::size_t>(7, section.size());
  if (suffix >= kObjNameLen) suffix = kObjNameLen - 1;
  const bool custom = section.find('.', 1) != std::string_view::npos;
  const std::size_t prefix = custom ? 0 : std::min(kObjNameLen - suffix - 1, object_name.size());
  std::string name = object_name.substr(0, prefix);
  name += section.substr(0, suffix);
  if (name.size() > kObjNameLen - 1) name.resize(kObjNameLen - 1);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') c = '_';
  }
  return name;
}

void add_internal_map(ReaderContext& ctx, MapOrigin origin, std::string_view section, std::uint64_t size, Bytes data) {
  Map map;
  map.name = section;
  map.kernel_name = internal_map_name(ctx.object_name, section);
  map.origin = origin;
  map.section = section;
  map.def.type = abi::map_type::kArray;
  map.def.key_size = 4;
  map.def.value_size = static_cast<std::uint32_t>(size);
  map.def.max_entries = 1;
  if (origin == MapOrigin::Rodata || origin == MapOrigin::Kconfig) map.def.flags |= abi::kMapFlagRdonlyProg;
  map.initial_value.assign(data.begin(), data.end());
  if (ctx.model.btf) {
    const btf::Btf& b = *ctx.model.btf;
    if (auto id = b.find_any(section)) {
      map.def.btf_value_type_id = *id;
      // mmapable when some variable is visible to user space (a skeleton);
      // libbpf's map_is_mmapable.
      if (b.kind(*id) == Kind::Datasec) {
        for (const auto& v : b.datasec_vars(*id)) {
          if (b.kind(v.type) == Kind::Var && b.var_linkage(v.type) != btf::VarLinkage::Static) {
            map.def.flags |= abi::kMapFlagMmapable;
            break;
          }
        }
      }
    }
  }
  ctx.model.maps.push_back(std::move(map));
}

Status collect_data_maps(ReaderContext& ctx) {
  for (const ElfSection& s : ctx.elf.sections()) {
    const SectionRole role = ctx.roles[s.index];
    if (role != SectionRole::Data && role != SectionRole::Rodata && role != SectionRole::Bss) continue;
    if (s.size == 0) continue;
    if (s.size > 0xffffffffu) return bad_input("section {} ({}): size {} exceeds a map value's 32-bit size", s.index, s.name, s.size);
    const MapOrigin origin = role == SectionRole::Data ? MapOrigin::Data : role == SectionRole::Rodata ? MapOrigin::Rodata : MapOrigin::Bss;
    add_internal_map(ctx, origin, s.name, s.size, origin == MapOrigin::Bss ? Bytes{} : s.data);
  }
  std::uint32_t kconfig_size = 0;
  for (const Extern& e : ctx.model.externs) {
    if (e.kind == ExternKind::Kconfig) kconfig_size = std::max(kconfig_size, e.kconfig_offset + e.kconfig_size);
  }
  if (kconfig_size != 0) add_internal_map(ctx, MapOrigin::Kconfig, ".kconfig", kconfig_size, {});
  return Ok{};
}

}  // namespace

Status collect_maps(ReaderContext& ctx) {
  if (auto s = collect_legacy_maps(ctx); !s) return s;
  if (auto s = collect_btf_maps(ctx); !s) return s;
  return collect_data_maps(ctx);
}

// `.values = { [i] = &prog_or_map }` leaves a relocation in .maps at the
// slot's address; each becomes an initial slot of the map holding it.
Status collect_map_slots(ReaderContext& ctx) {
  for (const ElfSection& rel : ctx.elf.sections()) {
    if (ctx.roles[rel.index] != SectionRole::Relocations || !ctx.btf_maps_section || rel.info != *ctx.btf_maps_section) continue;
    const btf::Btf& b = *ctx.model.btf;
    const std::size_t count = static_cast<std::size_t>(rel.size / sizeof(Elf64_Rel));
    for (std::size_t i = 0; i < count; ++i) {
      Elf64_Rel r;
      std::memcpy(&r, rel.data.data() + i * sizeof r, sizeof r);
      auto where = [&] { return fmt::format("section {} ({}): relocation {} at offset {}", rel.index, rel.name, i, r.r_offset); };
      const std::uint64_t sym_index = ELF64_R_SYM(r.r_info);
      if (sym_index >= ctx.elf.symbols().size()) return bad_input("{}: symbol index {} out of range", where(), sym_index);
      const ElfSymbol& sym = ctx.elf.symbols()[sym_index];
      auto var = std::find_if(ctx.btf_map_vars.begin(), ctx.btf_map_vars.end(), [&](const ReaderContext::BtfMapVar& v) {
        const std::uint64_t start = ctx.model.maps[v.map].section_offset;
        return start <= r.r_offset && r.r_offset < start + v.var_size && r.r_offset - start + 8 <= v.var_size;
      });
      if (var == ctx.btf_map_vars.end()) return bad_input("{}: lies in no map definition", where());
      Map& map = ctx.model.maps[var->map];
      const bool prog_array = map.def.type == abi::map_type::kProgArray;
      if (!prog_array && !is_map_in_map(map.def.type)) return bad_input("{}: map '{}' takes no initial values", where(), map.name);
      if (prog_array) {
        auto f = std::find_if(ctx.functions.begin(), ctx.functions.end(), [&](const Function& fn) {
          return !fn.is_subprogram && fn.name == sym.name && fn.section == sym.section && std::uint64_t{fn.start} * 8 == sym.value;
        });
        if (f == ctx.functions.end()) return bad_input("{}: '{}' is not an entry program", where(), sym.name);
      } else {
        if (!ctx.btf_maps_section || sym.section != *ctx.btf_maps_section || ctx.model.find_map(sym.name) == nullptr) {
          return bad_input("{}: '{}' is not a BTF-defined map", where(), sym.name);
        }
        if (map.def.type == abi::map_type::kHashOfMaps && map.def.key_size != 4) {
          return bad_input("{}: hash-of-maps '{}' must have 4-byte keys", where(), map.name);
        }
      }
      // The slot index: distance from the `values` member, in pointers.
      const auto members = b.members(var->def_struct);
      if (members.empty() || b.string_at(members.back().name_off) != "values") {
        return bad_input("{}: map '{}' has no trailing 'values' field", where(), map.name);
      }
      const std::uint64_t values_off = members.back().offset / 8;
      const std::uint64_t rel_off = r.r_offset - map.section_offset;
      if (rel_off < values_off || (rel_off - values_off) % 8 != 0) {
        return bad_input("{}: does not point at a slot of '{}'s values", where(), map.name);
      }
      const auto index = (rel_off - values_off) / 8;
      if (index >= map.def.max_entries) return bad_input("{}: slot {} is beyond max_entries {}", where(), index, map.def.max_entries);
      map.slots.push_back({static_cast<std::uint32_t>(index), std::string(sym.name)});
    }
  }
  for (Map& m : ctx.model.maps) {
    stable_sort_vector(m.slots, [](const InitialSlot& a, const InitialSlot& b) { return a.index < b.index; });
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
