// Text output of the commands: each line formatted, then made printable,
// so that names read from input files (objects, bundles, headers) never
// reach the terminal raw. JSON output needs no such step: its strings are
// escaped by the JSON writer.
#pragma once

#include <fmt/core.h>

#include "bpfsign/common/printable.hpp"

namespace bpfsign::cli {

template <typename... Args>
void print_line(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print("{}\n", printable(fmt::format(f, std::forward<Args>(args)...)));
}

}  // namespace bpfsign::cli
