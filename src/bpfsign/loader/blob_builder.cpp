#include "bpfsign/loader/blob_builder.hpp"

namespace bpfsign::loader {

std::uint32_t BlobBuilder::add(std::span<const std::uint8_t> bytes) {
  bytes_.resize((bytes_.size() + 7) & ~std::size_t{7}, 0);
  const auto off = static_cast<std::uint32_t>(bytes_.size());
  bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
  return off;
}

std::uint32_t BlobBuilder::add_string(std::string_view s) {
  std::vector<std::uint8_t> b(s.begin(), s.end());
  b.push_back(0);
  return add(b);
}

std::uint32_t BlobBuilder::add_zeros(std::size_t n) { return add(std::vector<std::uint8_t>(n, 0)); }

}  // namespace bpfsign::loader
