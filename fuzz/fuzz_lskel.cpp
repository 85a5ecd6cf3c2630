// libFuzzer target for the light skeleton header reader and the loader
// decoder on what it extracts (bpfsign inspect of a bpftool header).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/audit/lskel_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bpfsign;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!audit::is_light_skeleton(text)) return 0;
  auto lskel = audit::parse_light_skeleton(text, "fuzz input");
  if (!lskel) return 0;
  (void)audit::decode_loader(lskel->insns, lskel->data);
  return 0;
}
