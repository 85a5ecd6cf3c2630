// Runtime settings: what the signer allows the loading side to change
// without signing again (docs/settings.md). The signer writes a declaration
// (JSON); the generator resolves it against the object and compiles each
// allowance into the loader as a bound check, so the signed instructions
// themselves refuse any value outside it, whoever runs the loader. The
// resolved form travels in the manifest (covered by every scheme) so that
// the runtime, `inspect` and `verify` can name and pre-check each setting.
// Without a declaration nothing is settable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"

namespace bpfsign::object {
struct ObjectModel;
}

namespace bpfsign::loader {

// An integer as JSON writes it: any int64 or uint64. Resolution checks it
// against the type it will be stored in.
struct DeclaredInteger {
  bool negative = false;
  std::uint64_t magnitude = 0;
  std::string to_string() const;
};

// What may be set, and to what: a range [min, max] or a set of values.
struct DeclaredBounds {
  std::optional<DeclaredInteger> min, max;
  std::vector<DeclaredInteger> values;
};

struct DeclaredProgram {
  std::string fallback_for;  // "": a plain optional program
};

struct SettingsDeclaration {
  std::string source;  // the file it was read from, for errors ("" when built in code)
  std::map<std::string, DeclaredBounds> variables;    // global variables by name
  std::map<std::string, DeclaredBounds> max_entries;  // maps by name
  std::map<std::string, DeclaredProgram> optional_programs;
  bool empty() const { return variables.empty() && max_entries.empty() && optional_programs.empty(); }
};

// Parses the declaration file's bytes (`what` names it in errors). Strict:
// unknown keys, a range and a value list together, an empty list, more than
// kMaxValues values or a non-integer are refused.
Result<SettingsDeclaration> parse_settings_declaration(Bytes json, const std::string& what);
// The declaration in file `path` (`--settings`); "" is the empty declaration.
Result<SettingsDeclaration> read_settings_declaration(const std::string& path);

inline constexpr std::size_t kMaxValues = 64;
inline constexpr std::uint32_t kMaxSettings = 256;
// Values in all lists together: each is one comparison the verifier walks
// (130 lists of 64 values exceed its limit on jump sequences).
inline constexpr std::size_t kMaxTotalValues = 1024;
inline constexpr std::uint32_t kMaxEntriesLimit = 1u << 31;

// One resolved setting; record `index` of the context's settings area.
struct Setting {
  enum class Kind : std::uint8_t { Variable, MaxEntries, OptionalProgram };
  Kind kind = Kind::Variable;
  std::string name;            // the variable, map or program
  std::uint32_t target = 0;    // Variable: its map's index; MaxEntries: the map's; OptionalProgram: the program's
  // Variable: where it lives in its map's value and how it is stored.
  std::uint32_t offset = 0;
  std::uint32_t size = 0;      // 1, 2, 4 or 8 (MaxEntries: 4)
  bool is_signed = false;
  // Variable and MaxEntries: the allowed values, as the bits stored (a
  // signed value sign-extended to 64 bits).
  bool value_set = false;      // true: one of `values`; false: min..max
  std::uint64_t min = 0, max = 0;
  std::vector<std::uint64_t> values;
  // OptionalProgram: loaded only if this program (an index) was skipped.
  std::optional<std::uint32_t> fallback_for;

  // Whether `bits` (as stored) is allowed.
  bool allows(std::uint64_t bits) const;
  // "0..4194304", "one of 1, 2, 5" (in the setting's signedness).
  std::string allowed_text() const;
  std::string value_text(std::uint64_t bits) const;
};
const char* setting_kind_name(Setting::Kind kind);  // "variable", "max_entries", "optional program"

// Resolves a declaration against an object: every name must exist and every
// bound fit what it bounds (docs/settings.md#rules). Records are ordered
// variables, then map sizes, then programs, each by name.
Result<std::vector<Setting>> resolve_settings(const SettingsDeclaration& declaration, const object::ObjectModel& model);

// The declaration a list of resolved settings came from (bpfsign
// reproduce regenerates a bundle's loader from its manifest's settings).
SettingsDeclaration declaration_of(const std::vector<Setting>& settings, const std::vector<std::string>& programs);

// What a program's optional record reports back (ContextLayout::setting_outcome).
enum class ProgramOutcome : std::uint32_t { Loaded = 0, SkippedAsAsked = 1, TargetMissing = 2, PrimaryLoaded = 3 };

}  // namespace bpfsign::loader
