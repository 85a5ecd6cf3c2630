// The metadata blob: every bpf_attr, string, instruction stream and initial
// map value a loader uses, in one byte array that becomes the value of the
// loader's metadata map. Records are 8-byte aligned so that the loader's
// 64-bit stores into them are aligned.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace bpfsign::loader {

class BlobBuilder {
 public:
  std::uint32_t add(std::span<const std::uint8_t> bytes);
  std::uint32_t add_string(std::string_view s);  // NUL-terminated
  std::uint32_t add_zeros(std::size_t n);
  template <typename T>
  std::uint32_t add_struct(const T& value) {
    return add(std::span(reinterpret_cast<const std::uint8_t*>(&value), sizeof value));
  }
  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace bpfsign::loader
