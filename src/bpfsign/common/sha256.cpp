#include "bpfsign/common/sha256.hpp"

#include <openssl/evp.h>

#include <memory>

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

Sha256 sha256(std::span<const std::span<const std::uint8_t>> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  Sha256 out{};
  unsigned int len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) internal_error("SHA-256 failed");
  return out;
}

std::string to_hex(std::span<const std::uint8_t> data) {
  std::string s;
  s.reserve(data.size() * 2);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::uint8_t b : data) {
    s += kDigits[b >> 4];
    s += kDigits[b & 0xf];
  }
  return s;
}

}  // namespace bpfsign
