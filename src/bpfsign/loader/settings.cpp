#include "bpfsign/loader/settings.hpp"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/strict_json.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/object/object_model.hpp"

namespace bpfsign::loader {

namespace {

using nlohmann::json;

Result<DeclaredInteger> integer_of(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) return DeclaredInteger{false, v.get<std::uint64_t>()};
  if (v.is_number_integer()) {
    const std::int64_t x = v.get<std::int64_t>();
    if (x >= 0) return DeclaredInteger{false, static_cast<std::uint64_t>(x)};
    return DeclaredInteger{true, static_cast<std::uint64_t>(-(x + 1)) + 1};
  }
  if (v.is_number_float()) return bad_input("{}: expected an integer of at most 64 bits, got {}", where, v.dump());
  return bad_input("{}: expected an integer, got {}", where, v.type_name());
}

Result<DeclaredBounds> bounds_of(const json& v, const std::string& where) {
  if (!v.is_object()) return bad_input("{}: expected an object with \"min\" and \"max\", or \"values\"", where);
  if (auto ok = json_only_keys(v, {"min", "max", "values"}, where); !ok) return ok.error();
  DeclaredBounds b;
  const bool range = v.contains("min") || v.contains("max");
  if (range && v.contains("values")) return bad_input("{}: give \"min\" and \"max\", or \"values\", not both", where);
  if (range) {
    if (!v.contains("min") || !v.contains("max")) return bad_input("{}: a range needs both \"min\" and \"max\"", where);
    auto lo = integer_of(v["min"], where + ".min");
    if (!lo) return lo.error();
    auto hi = integer_of(v["max"], where + ".max");
    if (!hi) return hi.error();
    b.min = *lo;
    b.max = *hi;
    return b;
  }
  if (!v.contains("values")) return bad_input("{}: expected \"min\" and \"max\", or \"values\"", where);
  const json& list = v["values"];
  if (!list.is_array() || list.empty() || list.size() > kMaxValues) {
    return bad_input("{}.values: expected a list of 1 to {} integers", where, kMaxValues);
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto x = integer_of(list[i], fmt::format("{}.values[{}]", where, i));
    if (!x) return x.error();
    b.values.push_back(*x);
  }
  return b;
}

// The value `d` as the bits a `size`-byte integer of that signedness
// stores, sign-extended to 64 bits; nullopt if it does not fit.
std::optional<std::uint64_t> fit(const DeclaredInteger& d, std::uint32_t size, bool is_signed) {
  const unsigned bits = 8 * size;
  if (is_signed) {
    const std::uint64_t limit = std::uint64_t{1} << (bits - 1);  // |min|; max is limit - 1
    if (d.negative) {
      if (d.magnitude > limit) return std::nullopt;
      return ~d.magnitude + 1;  // two's complement of the magnitude, 64 bits
    }
    if (d.magnitude > limit - 1) return std::nullopt;
    return d.magnitude;
  }
  if (d.negative) return std::nullopt;
  if (bits < 64 && d.magnitude > (std::uint64_t{1} << bits) - 1) return std::nullopt;
  return d.magnitude;
}

bool less(std::uint64_t a, std::uint64_t b, bool is_signed) {
  return is_signed ? static_cast<std::int64_t>(a) < static_cast<std::int64_t>(b) : a < b;
}

// Fills the allowed values of `s` (size and signedness set) from `b`.
Status apply_bounds(Setting& s, const DeclaredBounds& b, const std::string& where, std::uint64_t type_min, std::uint64_t type_max) {
  auto convert = [&](const DeclaredInteger& d, const char* which) -> Result<std::uint64_t> {
    auto bits = fit(d, s.size, s.is_signed);
    if (!bits || less(*bits, type_min, s.is_signed) || less(type_max, *bits, s.is_signed)) {
      Setting t = s;
      t.value_set = false;
      t.min = type_min;
      t.max = type_max;
      return bad_input("{}: {} {} does not fit: the value must lie in {}", where, which, d.to_string(), t.allowed_text());
    }
    return *bits;
  };
  if (b.min) {
    auto lo = convert(*b.min, "min");
    if (!lo) return lo.error();
    auto hi = convert(*b.max, "max");
    if (!hi) return hi.error();
    if (less(*hi, *lo, s.is_signed)) return bad_input("{}: min {} is above max {}", where, b.min->to_string(), b.max->to_string());
    s.min = *lo;
    s.max = *hi;
    return Ok{};
  }
  s.value_set = true;
  for (const auto& d : b.values) {
    auto x = convert(d, "value");
    if (!x) return x.error();
    if (std::find(s.values.begin(), s.values.end(), *x) != s.values.end()) return bad_input("{}: value {} is listed twice", where, d.to_string());
    s.values.push_back(*x);
  }
  return Ok{};
}

// A global variable of one of the object's data maps (.data, .rodata,
// .bss and their named variants), by its BTF name.
struct FoundVariable {
  std::uint32_t map = 0;
  btf::VarSecinfo info;
};

Result<FoundVariable> find_variable(const object::ObjectModel& model, const std::string& name, const std::string& where) {
  if (!model.btf) return bad_input("{}: the object has no BTF, so its variables have no names", where);
  const btf::Btf& b = *model.btf;
  std::optional<FoundVariable> found;
  for (std::uint32_t i = 0; i < model.maps.size(); ++i) {
    const object::Map& m = model.maps[i];
    using O = object::MapOrigin;
    if (m.origin != O::Data && m.origin != O::Rodata && m.origin != O::Bss) continue;
    const std::uint32_t sec = m.def.btf_value_type_id;
    if (sec == 0 || !b.valid_id(sec) || b.kind(sec) != btf::Kind::Datasec) continue;
    for (const auto& v : b.datasec_vars(sec)) {
      if (!b.valid_id(v.type) || b.kind(v.type) != btf::Kind::Var || b.name(v.type) != name) continue;
      if (found) return bad_input("{}: '{}' names a variable in both '{}' and '{}'", where, name, model.maps[found->map].name, m.name);
      found = FoundVariable{i, v};
    }
  }
  if (!found) return bad_input("{}: the object has no global variable '{}' in .data, .rodata or .bss", where, name);
  return *found;
}

Result<Setting> resolve_variable(const object::ObjectModel& model, const std::string& name, const DeclaredBounds& bounds) {
  const std::string where = "variables." + name;
  auto found = find_variable(model, name, where);
  if (!found) return found.error();
  const btf::Btf& b = *model.btf;
  const object::Map& m = model.maps[found->map];
  const std::uint32_t type = b.skip_modifiers_and_typedefs(b.size_or_type(found->info.type));
  Setting s;
  s.kind = Setting::Kind::Variable;
  s.name = name;
  s.target = found->map;
  s.offset = found->info.offset;
  s.size = found->info.size;
  bool is_bool = false;
  switch (b.kind(type)) {
    case btf::Kind::Int: {
      const std::uint32_t enc = b.int_encoding(type);
      s.is_signed = ((enc >> 24) & 1) != 0;
      is_bool = ((enc >> 24) & 4) != 0;
      if ((enc & 0xff) != 8 * b.size_or_type(type) || (enc >> 16 & 0xff) != 0) {
        return bad_input("{}: a bit-field or odd-width integer cannot be a setting", where);
      }
      break;
    }
    case btf::Kind::Enum: case btf::Kind::Enum64: s.is_signed = b.kflag(type); break;
    default:
      return bad_input("{}: '{}' is not an integer, enum or bool (arrays, pointers and structs cannot be settings)", where, name);
  }
  if (b.size_or_type(type) != s.size || (s.size != 1 && s.size != 2 && s.size != 4 && s.size != 8)) {
    return bad_input("{}: a {}-byte variable cannot be a setting (1, 2, 4 or 8 bytes)", where, s.size);
  }
  if (static_cast<std::uint64_t>(s.offset) + s.size > m.def.value_size || s.offset % s.size != 0) {
    return bad_input("{}: offset {} is not an aligned place in the {}-byte map '{}'", where, s.offset, m.def.value_size, m.name);
  }
  std::uint64_t type_min = 0, type_max = 0;
  const unsigned bits = 8 * s.size;
  if (is_bool) {
    type_max = 1;
  } else if (s.is_signed) {
    type_min = ~((std::uint64_t{1} << (bits - 1)) - 1);
    type_max = (std::uint64_t{1} << (bits - 1)) - 1;
  } else {
    type_max = bits == 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << bits) - 1;
  }
  if (auto ok = apply_bounds(s, bounds, where, type_min, type_max); !ok) return ok.error();
  return s;
}

Result<Setting> resolve_max_entries(const object::ObjectModel& model, const std::string& name, const DeclaredBounds& bounds) {
  const std::string where = "max_entries." + name;
  const object::Map* m = model.find_map(name);
  if (m == nullptr) return bad_input("{}: the object has no map '{}'", where, name);
  if (m->origin != object::MapOrigin::BtfDefined && m->origin != object::MapOrigin::Legacy) {
    return bad_input("{}: '{}' is global data; its size is its section's", where, name);
  }
  if (m->def.type == abi::map_type::kPerfEventArray && m->def.max_entries == 0) {
    return bad_input("{}: '{}' is sized by the machine's possible CPUs", where, name);
  }
  for (const auto& outer : model.maps) {
    for (const auto& slot : outer.slots) {
      if (outer.inner && slot.target == name) {
        return bad_input("{}: '{}' fills slot {} of map-in-map '{}', whose inner maps must match its template", where, name, slot.index, outer.name);
      }
    }
  }
  Setting s;
  s.kind = Setting::Kind::MaxEntries;
  s.name = name;
  s.target = static_cast<std::uint32_t>(m - model.maps.data());
  s.size = 4;
  std::uint64_t lowest = 1;
  for (const auto& slot : m->slots) lowest = std::max<std::uint64_t>(lowest, std::uint64_t{slot.index} + 1);
  if (auto ok = apply_bounds(s, bounds, where, lowest, kMaxEntriesLimit); !ok) {
    return lowest > 1 ? ok.error().with_context(fmt::format("(its initial slots need at least {} entries)", lowest)) : ok.error();
  }
  return s;
}

Result<std::uint32_t> program_index(const object::ObjectModel& model, const std::string& name, const std::string& where) {
  const object::Program* p = model.find_program(name);
  if (p == nullptr) return bad_input("{}: the object has no program '{}'", where, name);
  for (const auto& m : model.maps) {
    if (m.def.type != abi::map_type::kProgArray) continue;
    for (const auto& slot : m.slots) {
      if (slot.target == name) return bad_input("{}: '{}' fills slot {} of '{}', so it cannot be skipped", where, name, slot.index, m.name);
    }
  }
  return static_cast<std::uint32_t>(p - model.programs.data());
}

}  // namespace

std::string DeclaredInteger::to_string() const { return (negative ? "-" : "") + std::to_string(magnitude); }

Result<SettingsDeclaration> parse_settings_declaration(Bytes bytes, const std::string& what) {
  auto parsed = parse_json_strict(bytes, what);
  if (!parsed) return parsed.error();
  const json& doc = *parsed;
  auto fail = [&](const Error& e) { return e.with_context(what); };
  if (!doc.is_object()) return bad_input("{}: expected a JSON object", what);
  if (auto ok = json_only_keys(doc, {"variables", "max_entries", "optional_programs"}, "the declaration"); !ok) return fail(ok.error());
  SettingsDeclaration out;
  for (const char* section : {"variables", "max_entries"}) {
    if (!doc.contains(section)) continue;
    if (!doc[section].is_object()) return bad_input("{}: {}: expected an object of names", what, section);
    auto& into = std::string_view(section) == "variables" ? out.variables : out.max_entries;
    for (const auto& [name, value] : doc[section].items()) {
      auto b = bounds_of(value, fmt::format("{}.{}", section, name));
      if (!b) return fail(b.error());
      into.emplace(name, std::move(b).value());
    }
  }
  if (doc.contains("optional_programs")) {
    const json& progs = doc["optional_programs"];
    if (!progs.is_object()) return bad_input("{}: optional_programs: expected an object of program names", what);
    for (const auto& [name, value] : progs.items()) {
      const std::string where = "optional_programs." + name;
      if (!value.is_object()) return bad_input("{}: {}: expected an object ({{}} or {{\"fallback_for\": PROGRAM}})", what, where);
      if (auto ok = json_only_keys(value, {"fallback_for"}, where); !ok) return fail(ok.error());
      DeclaredProgram p;
      if (value.contains("fallback_for")) {
        if (!value["fallback_for"].is_string() || value["fallback_for"].get<std::string>().empty()) {
          return bad_input("{}: {}.fallback_for: expected a program name", what, where);
        }
        p.fallback_for = value["fallback_for"].get<std::string>();
      }
      out.optional_programs.emplace(name, std::move(p));
    }
  }
  if (out.variables.size() + out.max_entries.size() + out.optional_programs.size() > kMaxSettings) {
    return bad_input("{}: more than {} settings", what, kMaxSettings);
  }
  std::size_t values = 0;
  for (const auto* section : {&out.variables, &out.max_entries}) {
    for (const auto& [name, b] : *section) values += b.values.size();
  }
  if (values > kMaxTotalValues) return bad_input("{}: {} values in all lists together (at most {})", what, values, kMaxTotalValues);
  out.source = what;
  return out;
}

Result<SettingsDeclaration> read_settings_declaration(const std::string& path) {
  if (path.empty()) return SettingsDeclaration{};
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_settings_declaration(*text, path);
}

namespace {

Result<std::vector<Setting>> resolve_all(const SettingsDeclaration& d, const object::ObjectModel& model) {
  std::vector<Setting> out;
  if (d.variables.size() + d.max_entries.size() + d.optional_programs.size() > kMaxSettings) {
    return bad_input("settings: more than {} settings", kMaxSettings);
  }
  for (const auto& [name, bounds] : d.variables) {
    auto s = resolve_variable(model, name, bounds);
    if (!s) return s.error();
    out.push_back(std::move(s).value());
  }
  for (const auto& [name, bounds] : d.max_entries) {
    auto s = resolve_max_entries(model, name, bounds);
    if (!s) return s.error();
    out.push_back(std::move(s).value());
  }
  for (const auto& [name, program] : d.optional_programs) {
    const std::string where = "optional_programs." + name;
    auto index = program_index(model, name, where);
    if (!index) return index.error();
    Setting s;
    s.kind = Setting::Kind::OptionalProgram;
    s.name = name;
    s.target = *index;
    if (!program.fallback_for.empty()) {
      const std::string& primary = program.fallback_for;
      if (primary == name) return bad_input("{}: a program cannot be its own fallback", where);
      auto it = d.optional_programs.find(primary);
      if (it == d.optional_programs.end()) return bad_input("{}: fallback_for '{}': that program must be optional too", where, primary);
      if (!it->second.fallback_for.empty()) return bad_input("{}: fallback_for '{}': that program is itself a fallback", where, primary);
      auto p = program_index(model, primary, where + ".fallback_for");
      if (!p) return p.error();
      s.fallback_for = *p;
    }
    out.push_back(std::move(s));
  }
  // The skeletons' setters: set_<variable>, set_max_entries_<map>, skip_<program>.
  for (const auto& [map, b] : d.max_entries) {
    if (d.variables.count("max_entries_" + map)) {
      return bad_input("variables.max_entries_{} and max_entries.{}: both would be a skeleton's set_max_entries_{}", map, map, map);
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Setting>> resolve_settings(const SettingsDeclaration& d, const object::ObjectModel& model) {
  auto out = resolve_all(d, model);
  if (!out && !d.source.empty()) return out.error().with_context(d.source);
  return out;
}

SettingsDeclaration declaration_of(const std::vector<Setting>& settings, const std::vector<std::string>& programs) {
  SettingsDeclaration d;
  auto integer = [](const Setting& s, std::uint64_t bits) {
    if (s.is_signed && static_cast<std::int64_t>(bits) < 0) return DeclaredInteger{true, ~bits + 1};
    return DeclaredInteger{false, bits};
  };
  for (const auto& s : settings) {
    if (s.kind == Setting::Kind::OptionalProgram) {
      DeclaredProgram p;
      if (s.fallback_for && *s.fallback_for < programs.size()) p.fallback_for = programs[*s.fallback_for];
      d.optional_programs.emplace(s.name, p);
      continue;
    }
    DeclaredBounds b;
    if (s.value_set) {
      for (auto v : s.values) b.values.push_back(integer(s, v));
    } else {
      b.min = integer(s, s.min);
      b.max = integer(s, s.max);
    }
    (s.kind == Setting::Kind::Variable ? d.variables : d.max_entries).emplace(s.name, std::move(b));
  }
  return d;
}

bool Setting::allows(std::uint64_t bits) const {
  if (kind == Kind::OptionalProgram) return true;
  if (value_set) return std::find(values.begin(), values.end(), bits) != values.end();
  return !less(bits, min, is_signed) && !less(max, bits, is_signed);
}

std::string Setting::value_text(std::uint64_t bits) const {
  return is_signed ? std::to_string(static_cast<std::int64_t>(bits)) : std::to_string(bits);
}

std::string Setting::allowed_text() const {
  if (kind == Kind::OptionalProgram) return fallback_for ? "loaded only when its primary was skipped" : "may be skipped";
  if (!value_set) return value_text(min) + ".." + value_text(max);
  std::string out = "one of ";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + value_text(values[i]);
  return out;
}

const char* setting_kind_name(Setting::Kind kind) {
  switch (kind) {
    case Setting::Kind::Variable: return "variable";
    case Setting::Kind::MaxEntries: return "max_entries";
    case Setting::Kind::OptionalProgram: return "optional program";
  }
  return "?";
}

}  // namespace bpfsign::loader
