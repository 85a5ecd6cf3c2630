// SHA-256 through OpenSSL (never hand-rolled).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace bpfsign {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::span<const std::uint8_t> data);
// The digest of the parts one after the other, without joining them first.
Sha256 sha256(std::span<const std::span<const std::uint8_t>> parts);
inline Sha256 sha256(std::initializer_list<std::span<const std::uint8_t>> parts) {
  return sha256(std::span<const std::span<const std::uint8_t>>(parts.begin(), parts.size()));
}
std::string to_hex(std::span<const std::uint8_t> data);

}  // namespace bpfsign
