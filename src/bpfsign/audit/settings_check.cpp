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
    // Where it goes: exactly the declared place, at the declared width.
    using T = DecodedLoader::StoreTarget;
    const auto slot = static_cast<std::int64_t>(declared.context.map_fd(s.target));
    const T want = s.kind == loader::Setting::Kind::Variable ? T{T::Kind::MapValue, slot, s.offset, s.size} : T{T::Kind::MaxEntries, slot, 0, 4};
    if (it->stores.size() != 1 || !(it->stores[0] == want)) {
      std::string where;
      for (const auto& t : it->stores) {
        const char* kind = t.kind == T::Kind::MapValue ? "a map value" : t.kind == T::Kind::MaxEntries ? "a map's max_entries"
                           : t.kind == T::Kind::Program ? "a program's instructions" : "other blob bytes";
        where += fmt::format("{}{} (map fd at context +{}, offset {}, {} bytes)", where.empty() ? "" : "; ", kind, t.map_fd_slot, t.offset, t.size);
      }
      out.push_back(fmt::format("{}: declared at {} +{} ({} bytes), but the loader stores it into {}", what,
                                s.kind == loader::Setting::Kind::Variable ? "a map value" : "max_entries", s.offset, s.size, where));
    }
  }
  // Optional programs: each program's load carries exactly the conditions
  // its declaration gives it (the skip record it reads; for a fallback, its
  // primary), and no load carries a skip the declaration lacks.
  auto load_of = [&](const std::string& program) -> const Command* {
    const std::string kernel_name = program.substr(0, 15);  // as BPF_PROG_LOAD names it
    for (const auto& c : decoded.commands) {
      if (c.kind == "PROG_LOAD" && command_field(c, "name") == kernel_name) return &c;
    }
    return nullptr;
  };
  auto conditions = [](const Command& c) { return command_field(c, "conditions"); };
  std::vector<std::string> declared_skips;
  for (std::uint32_t k = 0; k < declared.settings.size(); ++k) {
    const loader::Setting& s = declared.settings[k];
    if (s.kind != loader::Setting::Kind::OptionalProgram) continue;
    std::string want = fmt::format("skipped if context +{} asks (a declared optional program)", declared.context.setting_given(k));
    declared_skips.push_back(want);
    if (s.fallback_for && *s.fallback_for < declared.programs.size()) {
      want += fmt::format("; only if program '{}' was skipped (a declared fallback)", declared.programs[*s.fallback_for].substr(0, 15));
    }
    const Command* c = load_of(s.name);
    if (c == nullptr) {
      out.push_back(fmt::format("optional program '{}': declared, but the loader never loads it", s.name));
    } else if (conditions(*c) != want) {
      out.push_back(fmt::format("optional program '{}': declared '{}', but the loader loads it {}", s.name, want,
                                conditions(*c).empty() ? std::string("unconditionally") : "'" + conditions(*c) + "'"));
    }
  }
  for (const auto& c : decoded.commands) {
    if (c.kind != "PROG_LOAD" || conditions(c).empty()) continue;
    const std::string cond = conditions(c);
    const bool declared_one = std::any_of(declared_skips.begin(), declared_skips.end(), [&](const std::string& d) { return cond.rfind(d, 0) == 0; });
    if (!declared_one) out.push_back(fmt::format("{}: conditions no declared optional program has: {}", c.summary.substr(0, c.summary.find(':')), cond));
  }
  for (const auto& b : decoded.bounded_inputs) {
    if (std::find(explained.begin(), explained.end(), b.context_offset) == explained.end()) {
      out.push_back(fmt::format("the loader stores context +{}, which no declared setting names", b.context_offset));
    }
  }
  return out;
}

}  // namespace bpfsign::audit
