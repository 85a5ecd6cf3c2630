// SHA-256 through OpenSSL (never hand-rolled).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace bpfsign {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::span<const std::uint8_t> data);
std::string to_hex(std::span<const std::uint8_t> data);

}  // namespace bpfsign
