// Overflow-checked arithmetic for sizes and offsets taken from input.
// Every size read from a file goes through these before it is used.
#pragma once

#include <cstdint>
#include <optional>

namespace bpfsign {

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// True when [offset, offset + length) lies inside a buffer of `size` bytes.
inline bool range_fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  auto end = checked_add(offset, length);
  return end && *end <= size;
}

}  // namespace bpfsign
