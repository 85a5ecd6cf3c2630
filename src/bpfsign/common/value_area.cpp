#include "bpfsign/common/value_area.hpp"

namespace bpfsign {

Bytes value_area_padding(Bytes value) {
  static constexpr std::uint8_t kZeros[8] = {};
  return Bytes(kZeros, (8 - value.size() % 8) % 8);
}

std::vector<std::uint8_t> value_area(Bytes value) {
  std::vector<std::uint8_t> out(value.begin(), value.end());
  const Bytes padding = value_area_padding(value);
  out.insert(out.end(), padding.begin(), padding.end());
  return out;
}

Sha256 value_area_hash(Bytes value) { return sha256({value, value_area_padding(value)}); }

}  // namespace bpfsign
