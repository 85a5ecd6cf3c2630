#include "bpfsign/common/sha256.hpp"

#include <openssl/evp.h>

#include <fmt/format.h>

#include "bpfsign/common/error.hpp"

namespace bpfsign {

Sha256 sha256(std::span<const std::uint8_t> data) {
  Sha256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 || len != out.size()) {
    internal_error("EVP_Digest(SHA-256) failed");
  }
  return out;
}

std::string to_hex(std::span<const std::uint8_t> data) {
  std::string s;
  s.reserve(data.size() * 2);
  for (std::uint8_t b : data) s += fmt::format("{:02x}", b);
  return s;
}

}  // namespace bpfsign
