// The loader and metadata inside a light skeleton header written by
// bpftool (`bpftool gen skeleton -L`): the C string literals assigned to
// opts.data and opts.insns, with their declared sizes. Strict: a literal
// that does not decode, or whose size differs from the declared one, is an
// error naming the line.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "bpfsign/common/error.hpp"

namespace bpfsign::audit {

struct LightSkeleton {
  std::vector<std::uint8_t> insns;
  std::vector<std::uint8_t> data;
};

// Whether `text` looks like a bpftool light skeleton (cheap check).
bool is_light_skeleton(std::string_view text);
Result<LightSkeleton> parse_light_skeleton(std::string_view text, const std::string& what);

}  // namespace bpfsign::audit
