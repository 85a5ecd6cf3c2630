#include "bpfsign/object/model_dump.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "bpfsign/common/printable.hpp"

#include "bpfsign/abi/bpf_enums.hpp"

namespace bpfsign::object {

namespace {

using nlohmann::json;

std::string target_name(const ObjectModel& m, const Program& p, const Relocation& r) {
  switch (r.kind) {
    case RelocKind::MapFd:
    case RelocKind::MapValue:
      return r.target < m.maps.size() ? m.maps[r.target].name : "?";
    case RelocKind::SubprogCall:
    case RelocKind::SubprogAddr:
      return r.target < p.functions.size() ? std::string(p.functions[r.target].name) : "?";
    case RelocKind::KfuncCall:
    case RelocKind::KsymAddr:
    case RelocKind::KconfigValue:
      return r.target < m.externs.size() ? m.externs[r.target].name : "?";
  }
  return "?";
}

json map_def_json(const MapDefinition& d) {
  return json{{"type", abi::map_type_name(d.type)},   {"type_id", d.type},          {"key_size", d.key_size},
              {"value_size", d.value_size},      {"max_entries", d.max_entries}, {"flags", d.flags},
              {"numa_node", d.numa_node},        {"map_extra", d.map_extra},   {"btf_key_type_id", d.btf_key_type_id},
              {"btf_value_type_id", d.btf_value_type_id}, {"pin_by_name", d.pin_by_name}};
}

std::string linkage_name(btf::VarLinkage l) {
  switch (l) {
    case btf::VarLinkage::Static: return "static";
    case btf::VarLinkage::GlobalAllocated: return "global";
    case btf::VarLinkage::GlobalExtern: return "extern";
  }
  return "unknown";
}

// Variables of each global-data section, from its DATASEC.
json data_sections_json(const ObjectModel& m) {
  json out = json::array();
  if (!m.btf) return out;
  const btf::Btf& b = *m.btf;
  for (const Map& map : m.maps) {
    if (map.origin == MapOrigin::BtfDefined || map.origin == MapOrigin::Legacy) continue;
    json vars = json::array();
    const std::uint32_t sec = map.def.btf_value_type_id;
    if (sec != 0 && b.kind(sec) == btf::Kind::Datasec) {
      for (const auto& v : b.datasec_vars(sec)) {
        json var{{"name", std::string(b.name(v.type))}, {"offset", v.offset}, {"size", v.size}};
        if (b.kind(v.type) == btf::Kind::Var) var["linkage"] = linkage_name(b.var_linkage(v.type));
        vars.push_back(std::move(var));
      }
    }
    out.push_back({{"section", map.section}, {"map", map.name}, {"size", map.def.value_size}, {"variables", std::move(vars)}});
  }
  return out;
}

json program_json(const ObjectModel& m, const Program& p) {
  json functions = json::array();
  for (const auto& f : p.functions) functions.push_back({{"name", f.name}, {"start", f.start}, {"size", f.size}});
  json relocs = json::array();
  for (const auto& r : p.relocations) {
    json j{{"insn", r.insn}, {"kind", reloc_kind_name(r.kind)}, {"target", target_name(m, p, r)}};
    if (r.kind == RelocKind::MapValue || r.kind == RelocKind::KconfigValue) j["offset"] = r.offset;
    relocs.push_back(std::move(j));
  }
  json core = json::array();
  for (const auto& c : p.core_relos) {
    json j{{"insn", c.insn_off / 8}, {"kind", btf::core_relo_kind_name(c.kind)}, {"type_id", c.type_id}};
    if (m.btf) j["access"] = std::string(m.btf->string_at(c.access_str_off));
    core.push_back(std::move(j));
  }
  return json{{"name", p.name},
              {"section", p.section},
              {"section_offset", p.section_offset},
              {"type", abi::prog_type_name(p.kind.prog_type)},
              {"type_id", p.kind.prog_type},
              {"expected_attach_type", p.kind.expected_attach_type == 0 && p.kind.prog_type != abi::prog_type::kCgroupSkb
                                           ? json(nullptr)
                                           : json(abi::attach_type_name(p.kind.expected_attach_type))},
              {"expected_attach_type_id", p.kind.expected_attach_type},
              {"attach_target", p.kind.attach_target},
              {"attach_by_btf_id", p.kind.attach_by_btf_id},
              {"attach", attach_method_name(p.kind.attach)},
              {"sleepable", (p.kind.prog_flags & abi::kProgFlagSleepable) != 0},
              {"xdp_has_frags", (p.kind.prog_flags & abi::kProgFlagXdpHasFrags) != 0},
              {"insns", p.insns.size()},
              {"functions", std::move(functions)},
              {"func_info", p.func_info.size()},
              {"line_info", p.line_info.size()},
              {"core_relocations", std::move(core)},
              {"relocations", std::move(relocs)}};
}

template <typename... Args>
void append_line(std::string& out, fmt::format_string<Args...> f, Args&&... args) {
  out += printable(fmt::format(f, std::forward<Args>(args)...));  // names come from the object file
  out += '\n';
}

}  // namespace

std::string dump_json(const ObjectModel& m) {
  json programs = json::array();
  for (const auto& p : m.programs) programs.push_back(program_json(m, p));
  json maps = json::array();
  for (const auto& map : m.maps) {
    json j = map_def_json(map.def);
    j["name"] = map.name;
    j["kernel_name"] = map.kernel_name;
    j["origin"] = map_origin_name(map.origin);
    j["section"] = map.section;
    j["section_offset"] = map.section_offset;
    j["initial_value_size"] = map.initial_value.size();
    j["frozen_after_init"] = map.frozen_after_init();
    j["inner"] = map.inner ? map_def_json(*map.inner) : json(nullptr);
    json slots = json::array();
    for (const auto& s : map.slots) slots.push_back({{"index", s.index}, {"target", s.target}});
    j["slots"] = std::move(slots);
    maps.push_back(std::move(j));
  }
  json externs = json::array();
  for (const auto& e : m.externs) {
    json j{{"name", e.name}, {"kind", extern_kind_name(e.kind)}, {"weak", e.weak}, {"typed", e.typed},
           {"btf_id", e.btf_id}, {"type_id", e.type_id}};
    if (e.kind == ExternKind::Kconfig) {
      j["kconfig"] = {{"type", kconfig_type_name(e.kconfig_type)}, {"signed", e.kconfig_signed},
                      {"offset", e.kconfig_offset}, {"size", e.kconfig_size}};
    }
    externs.push_back(std::move(j));
  }
  json doc{{"object", m.name},
           {"license", m.license},
           {"kernel_version", m.kernel_version ? json(*m.kernel_version) : json(nullptr)},
           {"btf", m.btf ? json{{"types", m.btf->type_count()}, {"bytes", m.btf->serialize().size()}} : json(nullptr)},
           {"btf_ext", m.has_btf_ext},
           {"programs", std::move(programs)},
           {"maps", std::move(maps)},
           {"data_sections", data_sections_json(m)},
           {"externs", std::move(externs)}};
  return doc.dump(2, ' ', true, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string dump_text(const ObjectModel& m) {
  std::string out;
  append_line(out, "object {}: license \"{}\"{}", m.name, m.license,
       m.kernel_version ? fmt::format(", kernel version 0x{:x}", *m.kernel_version) : std::string());
  if (m.btf) append_line(out, "btf: {} types, {} bytes after fixups{}", m.btf->type_count(), m.btf->serialize().size(), m.has_btf_ext ? ", with .BTF.ext" : "");
  out += '\n';
  append_line(out, "programs ({}):", m.programs.size());
  for (const auto& p : m.programs) {
    std::string flags;
    if (p.kind.prog_flags & abi::kProgFlagSleepable) flags += " sleepable";
    if (p.kind.prog_flags & abi::kProgFlagXdpHasFrags) flags += " xdp_frags";
    append_line(out, "  {} [{}] type {} attach {}{}{}", p.name, p.section, abi::prog_type_name(p.kind.prog_type),
         p.kind.expected_attach_type != 0 ? abi::attach_type_name(p.kind.expected_attach_type) : "-",
         p.kind.attach_target.empty() ? "" : fmt::format(" target '{}'", p.kind.attach_target), flags);
    std::string funcs;
    for (const auto& f : p.functions) funcs += fmt::format("{}{}@{}", funcs.empty() ? "" : ", ", f.name, f.start);
    append_line(out, "    {} insns ({}); func_info {}, line_info {}, CO-RE relocations {}", p.insns.size(), funcs, p.func_info.size(),
         p.line_info.size(), p.core_relos.size());
    for (const auto& r : p.relocations) {
      append_line(out, "    insn {:>5}: {} {}{}", r.insn, reloc_kind_name(r.kind), target_name(m, p, r),
           r.kind == RelocKind::MapValue || r.kind == RelocKind::KconfigValue ? fmt::format(" + {}", r.offset) : std::string());
    }
  }
  out += '\n';
  append_line(out, "maps ({}):", m.maps.size());
  for (const auto& map : m.maps) {
    append_line(out, "  {} ({}; kernel name '{}'): {} key {} value {} max_entries {} flags 0x{:x}{}{}", map.name, map_origin_name(map.origin),
         map.kernel_name, abi::map_type_name(map.def.type), map.def.key_size, map.def.value_size, map.def.max_entries, map.def.flags,
         map.def.pin_by_name ? " pinned by name" : "", map.frozen_after_init() ? " frozen" : "");
    if (map.inner) {
      append_line(out, "    inner: {} key {} value {} max_entries {}", abi::map_type_name(map.inner->type), map.inner->key_size,
           map.inner->value_size, map.inner->max_entries);
    }
    for (const auto& s : map.slots) append_line(out, "    slot {} = {}", s.index, s.target);
  }
  if (!m.externs.empty()) {
    out += '\n';
    append_line(out, "externs ({}):", m.externs.size());
    for (const auto& e : m.externs) {
      append_line(out, "  {} {}{}{}", extern_kind_name(e.kind), e.name, e.weak ? " (weak)" : "",
           e.kind == ExternKind::Kconfig ? fmt::format(" {} at .kconfig+{} size {}", kconfig_type_name(e.kconfig_type), e.kconfig_offset, e.kconfig_size)
           : e.kind == ExternKind::Ksym  ? (e.typed ? " typed" : " typeless")
                                         : "");
    }
  }
  return out;
}

}  // namespace bpfsign::object
