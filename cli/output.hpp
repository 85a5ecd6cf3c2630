// Text output of the commands: each line formatted, then made printable,
// so that names read from input files (objects, bundles, headers) never
// reach the terminal raw. JSON output is written ASCII-only: every
// non-ASCII character (C1 controls included, which some terminals obey) as
// a \u escape, and bytes that are not UTF-8 replaced.
#pragma once

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/common/printable.hpp"

namespace bpfsign::cli {

template <typename... Args>
void print_line(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print("{}\n", printable(fmt::format(f, std::forward<Args>(args)...)));
}

inline void print_json(const nlohmann::json& j) { fmt::print("{}\n", j.dump(2, ' ', true, nlohmann::json::error_handler_t::replace)); }

}  // namespace bpfsign::cli
