// SHA-256 through OpenSSL (never hand-rolled).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>

struct evp_md_ctx_st;

namespace bpfsign {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::span<const std::uint8_t> data);
// The digest of the parts one after the other, without joining them first.
Sha256 sha256(std::span<const std::span<const std::uint8_t>> parts);
inline Sha256 sha256(std::initializer_list<std::span<const std::uint8_t>> parts) {
  return sha256(std::span<const std::span<const std::uint8_t>>(parts.begin(), parts.size()));
}
// A running SHA-256: digest() gives the digest of what was fed so far and
// the stream can go on, so that H(a) and H(a ‖ b) cost |a| + |b|, not 2|a| + |b|.
class Sha256Stream {
 public:
  Sha256Stream();
  Sha256Stream& update(std::span<const std::uint8_t> data);
  Sha256 digest() const;

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

std::string to_hex(std::span<const std::uint8_t> data);

}  // namespace bpfsign
