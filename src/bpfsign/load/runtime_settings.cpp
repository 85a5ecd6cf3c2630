#include "bpfsign/load/runtime_settings.hpp"

#include <cstring>
#include <limits>

namespace bpfsign::load {

namespace {

using loader::Setting;

std::string declared_names(const loader::LoaderProgram& loader, Setting::Kind kind) {
  std::string out;
  for (const auto& s : loader.settings) {
    if (s.kind == kind) out += (out.empty() ? "" : ", ") + s.name;
  }
  return out.empty() ? "none" : out;
}

Result<std::uint32_t> find_setting(const loader::LoaderProgram& loader, Setting::Kind kind, const std::string& name, const char* option) {
  for (std::uint32_t k = 0; k < loader.settings.size(); ++k) {
    if (loader.settings[k].kind == kind && loader.settings[k].name == name) return k;
  }
  return usage_error("{} {}: '{}' is not declared settable (declared: {})", option, name, name, declared_names(loader, kind));
}

}  // namespace

Result<std::uint64_t> parse_setting_integer(const std::string& text, bool allow_negative) {
  std::string_view t = text;
  const bool negative = !t.empty() && t.front() == '-';
  if (negative) t.remove_prefix(1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return usage_error("'{}' is not an integer", text);
  std::uint64_t v = 0;
  for (char c : t) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return usage_error("'{}' is not an integer (decimal, or hexadecimal after 0x)", text);
    if (v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(d)) / static_cast<std::uint64_t>(base)) {
      return usage_error("'{}' does not fit 64 bits", text);
    }
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d);
  }
  if (!negative) {
    if (allow_negative && v > static_cast<std::uint64_t>(INT64_MAX)) return usage_error("'{}' does not fit a signed 64-bit integer", text);
    return v;
  }
  if (!allow_negative) return usage_error("'{}': this setting is unsigned", text);
  if (v > (std::uint64_t{1} << 63)) return usage_error("'{}' does not fit a signed 64-bit integer", text);
  return ~v + 1;
}

Result<std::vector<std::uint8_t>> encode_settings(const loader::LoaderProgram& loader, const RuntimeSettings& settings, bool check_bounds) {
  std::vector<std::uint8_t> area(loader::ContextLayout::kSettingRecordSize * loader.settings.size(), 0);
  std::vector<bool> given(loader.settings.size(), false);
  auto put = [&](std::uint32_t k, std::uint64_t value) {
    const std::uint32_t one = 1;
    std::memcpy(area.data() + loader::ContextLayout::kSettingRecordSize * k, &value, 8);
    std::memcpy(area.data() + loader::ContextLayout::kSettingRecordSize * k + 8, &one, 4);
    given[k] = true;
  };
  auto value_of = [&](Setting::Kind kind, const std::string& name, const std::string& text, const char* option) -> Result<std::uint32_t> {
    auto k = find_setting(loader, kind, name, option);
    if (!k) return k.error();
    const Setting& s = loader.settings[*k];
    if (given[*k]) return usage_error("{} {}: given twice", option, name);
    auto v = parse_setting_integer(text, s.is_signed);
    if (!v) return v.error().with_context(fmt::format("{} {}", option, name));
    if (check_bounds && !s.allows(*v)) {
      return usage_error("{} {}={}: outside what the signer allows ({})", option, name, text, s.allowed_text());
    }
    put(*k, *v);
    return *k;
  };
  for (const auto& [name, text] : settings.variables) {
    if (auto k = value_of(Setting::Kind::Variable, name, text, "--set"); !k) return k.error();
  }
  for (const auto& [name, text] : settings.max_entries) {
    if (auto k = value_of(Setting::Kind::MaxEntries, name, text, "--max-entries"); !k) return k.error();
  }
  for (const auto& name : settings.skip) {
    auto k = find_setting(loader, Setting::Kind::OptionalProgram, name, "--skip");
    if (!k) return k.error();
    if (given[*k]) return usage_error("--skip {}: given twice", name);
    put(*k, 0);
  }
  return area;
}

}  // namespace bpfsign::load
