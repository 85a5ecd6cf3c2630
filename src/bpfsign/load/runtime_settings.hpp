// The loading side's runtime settings (`load --set`, `--max-entries`,
// `--skip`, skeleton setters), checked against what the signer declared
// (loader/settings.hpp) and encoded into the loader's context. The check
// here gives a clear message early; the signed loader checks the same
// bounds again in the kernel, which is the check that counts.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

struct RuntimeSettings {
  std::vector<std::pair<std::string, std::string>> variables;    // NAME, VALUE (decimal, or 0x hex; may be negative)
  std::vector<std::pair<std::string, std::string>> max_entries;  // MAP, N
  std::vector<std::string> skip;                                 // optional programs not to load
  bool empty() const { return variables.empty() && max_entries.empty() && skip.empty(); }
};

// The context's settings area for `loader`: one record per declared
// setting (ContextLayout::setting_value). Refuses a name the signer did not
// declare, a value that is not an integer, one outside its bounds and a
// setting given twice. With `check_bounds` false, out-of-bounds values are
// encoded as given: only to show that the loader refuses them (tests).
Result<std::vector<std::uint8_t>> encode_settings(const loader::LoaderProgram& loader, const RuntimeSettings& settings,
                                                  bool check_bounds = true);

// An integer as the command line writes it: decimal or 0x hex, optionally
// negative; the bits a 64-bit two's-complement value has.
Result<std::uint64_t> parse_setting_integer(const std::string& text, bool allow_negative);

}  // namespace bpfsign::load
