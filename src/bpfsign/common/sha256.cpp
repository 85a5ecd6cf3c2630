#include "bpfsign/common/sha256.hpp"

#include <openssl/evp.h>

#include <memory>

#include "bpfsign/common/error.hpp"

namespace bpfsign {

namespace {

// Fetched once: OpenSSL 3 otherwise looks the implementation up in its
// provider tables on every digest, a cost that shows on small inputs.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) internal_error("EVP_MD_fetch(SHA256) failed");
  return md;
}

}  // namespace

Sha256 sha256(std::span<const std::uint8_t> data) {
  Sha256 out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, sha256_md(), nullptr) != 1 || len != out.size()) {
    internal_error("EVP_Digest(SHA-256) failed");
  }
  return out;
}

Sha256 sha256(std::span<const std::span<const std::uint8_t>> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  bool ok = ctx && EVP_DigestInit_ex(ctx.get(), sha256_md(), nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  Sha256 out{};
  unsigned int len = 0;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) internal_error("SHA-256 failed");
  return out;
}

void Sha256Stream::Free::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), sha256_md(), nullptr) != 1) internal_error("SHA-256 init failed");
}

Sha256Stream& Sha256Stream::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) internal_error("SHA-256 update failed");
  return *this;
}

Sha256 Sha256Stream::digest() const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  Sha256 out{};
  unsigned int len = 0;
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 || EVP_DigestFinal_ex(copy.get(), out.data(), &len) != 1 ||
      len != out.size()) {
    internal_error("SHA-256 final failed");
  }
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
