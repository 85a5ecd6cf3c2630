// A bounds-checked cursor over untrusted bytes. Every read says how many
// bytes it needs; a read past the end fails instead of touching memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "bpfsign/common/checked_math.hpp"
#include "bpfsign/common/error.hpp"

namespace bpfsign {

using Bytes = std::span<const std::uint8_t>;

class ByteReader {
 public:
  explicit ByteReader(Bytes data) : data_(data) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }

  // Reads a trivially copyable little-endian value (BPF objects handled here
  // are little-endian, like the host; see docs/architecture.md).
  template <typename T>
  Result<T> read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) {
      return bad_input("{} at offset {}: need {} bytes, only {} left", what, pos_,
                       sizeof(T), remaining());
    }
    T value;
    std::memcpy(&value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<Bytes> take(std::uint64_t length, const char* what) {
    if (length > remaining()) {
      return bad_input("{} at offset {}: need {} bytes, only {} left", what, pos_, length,
                       remaining());
    }
    Bytes out = data_.subspan(pos_, static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return out;
  }

 private:
  Bytes data_;
  std::size_t pos_ = 0;
};

// The sub-span [offset, offset + length) of `data`, or an error naming `what`.
inline Result<Bytes> subspan_checked(Bytes data, std::uint64_t offset, std::uint64_t length,
                                     const char* what) {
  if (!range_fits(offset, length, data.size())) {
    return bad_input("{}: range [{}, +{}) exceeds the {} bytes available", what, offset,
                     length, data.size());
  }
  return data.subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

}  // namespace bpfsign
