#include "settings_report.hpp"

#include <fmt/core.h>

namespace bpfsign::cli {

namespace {

std::string where(const loader::LoaderProgram& loader, const loader::Setting& s) {
  using K = loader::Setting::Kind;
  switch (s.kind) {
    case K::Variable:
      return fmt::format("{} +{}, {}-byte {}", s.target < loader.maps.size() ? loader.maps[s.target] : "?", s.offset, s.size,
                         s.is_signed ? "signed" : "unsigned");
    case K::MaxEntries: return "map size";
    case K::OptionalProgram: {
      // The loader looks up fentry/fexit/lsm/iter/tp_btf targets (BTF) and
      // kprobe functions (kallsyms); other programs are skipped only when asked.
      using object::AttachMethod;
      const AttachMethod a = s.target < loader.program_summaries.size() ? loader.program_summaries[s.target].attach : AttachMethod::None;
      const bool looked_up = a == AttachMethod::Trace || a == AttachMethod::Lsm || a == AttachMethod::Iter || a == AttachMethod::Kprobe ||
                             a == AttachMethod::Kretprobe;
      std::string out = looked_up ? "skipped when asked or when its attach target is missing" : "skipped when asked";
      if (s.fallback_for && *s.fallback_for < loader.programs.size()) out += "; a fallback for " + loader.programs[*s.fallback_for];
      return out;
    }
  }
  return "?";
}

}  // namespace

std::vector<std::string> settings_lines(const loader::LoaderProgram& loader) {
  std::vector<std::string> out;
  for (std::uint32_t k = 0; k < loader.settings.size(); ++k) {
    const auto& s = loader.settings[k];
    out.push_back(fmt::format("{} {} ({}): {}; context +{}", loader::setting_kind_name(s.kind), s.name, where(loader, s), s.allowed_text(),
                              loader.context.setting_value(k)));
  }
  return out;
}

nlohmann::json settings_json(const loader::LoaderProgram& loader) {
  nlohmann::json out = nlohmann::json::array();
  for (std::uint32_t k = 0; k < loader.settings.size(); ++k) {
    const auto& s = loader.settings[k];
    nlohmann::json j{{"kind", loader::setting_kind_name(s.kind)}, {"name", s.name}, {"where", where(loader, s)},
                     {"allowed", s.allowed_text()}, {"context_offset", loader.context.setting_value(k)}};
    if (s.kind == loader::Setting::Kind::Variable) {
      j["map"] = s.target < loader.maps.size() ? loader.maps[s.target] : "";
      j["offset"] = s.offset;
      j["size"] = s.size;
      j["signed"] = s.is_signed;
    }
    if (s.fallback_for && *s.fallback_for < loader.programs.size()) j["fallback_for"] = loader.programs[*s.fallback_for];
    if (s.kind != loader::Setting::Kind::OptionalProgram) {
      if (s.value_set) {
        j["values"] = nlohmann::json::array();
        for (auto v : s.values) j["values"].push_back(s.value_text(v));
      } else {
        j["min"] = s.value_text(s.min);
        j["max"] = s.value_text(s.max);
      }
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace bpfsign::cli
