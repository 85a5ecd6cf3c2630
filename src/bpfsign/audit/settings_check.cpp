#include "bpfsign/audit/settings_check.hpp"

#include <algorithm>

namespace bpfsign::audit {

namespace {

std::string accepted(const DecodedLoader::BoundedInput& b) {
  std::vector<std::string> parts;
  if (b.unbounded) parts.push_back("any value (on a path with no bound)");
  for (auto v : b.values) parts.push_back(std::to_string(v));
  for (auto [lo, hi] : b.signed_ranges) parts.push_back(fmt::format("{}..{}", lo, hi));
  for (auto [lo, hi] : b.unsigned_ranges) parts.push_back(fmt::format("{}..{}", lo, hi));
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

}  // namespace

std::vector<std::string> settings_mismatches(const loader::LoaderProgram& declared, const DecodedLoader& decoded) {
  std::vector<std::string> out;
  std::vector<std::int64_t> explained;
  for (std::uint32_t k = 0; k < declared.settings.size(); ++k) {
    const loader::Setting& s = declared.settings[k];
    if (s.kind == loader::Setting::Kind::OptionalProgram) continue;
    const auto off = static_cast<std::int64_t>(declared.context.setting_value(k));
    explained.push_back(off);
    const auto it = std::find_if(decoded.bounded_inputs.begin(), decoded.bounded_inputs.end(),
                                 [&](const DecodedLoader::BoundedInput& b) { return b.context_offset == off; });
    const std::string what = fmt::format("{} '{}' (context +{})", loader::setting_kind_name(s.kind), s.name, off);
    if (it == decoded.bounded_inputs.end()) {
      out.push_back(fmt::format("{}: declared {}, but the loader never stores it", what, s.allowed_text()));
      continue;
    }
    bool same = false;
    if (it->unbounded) {
      same = false;
    } else if (s.value_set) {
      std::vector<std::int64_t> want;
      for (auto v : s.values) want.push_back(static_cast<std::int64_t>(v));
      std::sort(want.begin(), want.end());
      same = it->signed_ranges.empty() && it->unsigned_ranges.empty() && it->values == want;
    } else if (s.is_signed) {
      same = it->values.empty() && it->unsigned_ranges.empty() && it->signed_ranges.size() == 1 &&
             it->signed_ranges[0] == std::pair{static_cast<std::int64_t>(s.min), static_cast<std::int64_t>(s.max)};
    } else {
      same = it->values.empty() && it->signed_ranges.empty() && it->unsigned_ranges.size() == 1 &&
             it->unsigned_ranges[0] == std::pair{s.min, s.max};
    }
    if (!same) out.push_back(fmt::format("{}: declared {}, but the loader accepts {}", what, s.allowed_text(), accepted(*it)));
  }
  for (const auto& b : decoded.bounded_inputs) {
    if (std::find(explained.begin(), explained.end(), b.context_offset) == explained.end()) {
      out.push_back(fmt::format("the loader stores context +{}, which no declared setting names", b.context_offset));
    }
  }
  return out;
}

}  // namespace bpfsign::audit
