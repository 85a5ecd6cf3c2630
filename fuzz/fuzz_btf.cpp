// BTF and BTF.ext parsing on any bytes. Input: a 4-byte length N, then N
// bytes of .BTF, then the rest as .BTF.ext. Whatever parses must serialize
// back to bytes that parse again, and size queries must terminate.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/btf/btf_ext.hpp"
#include "bpfsign/btf/btf_sanitize.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bpfsign::btf;
  if (size < 4) return 0;
  std::uint32_t n = 0;
  std::memcpy(&n, data, 4);
  const bpfsign::Bytes rest(data + 4, size - 4);
  if (n > rest.size()) n = static_cast<std::uint32_t>(rest.size());
  auto btf = Btf::parse(rest.first(n));
  if (!btf) return 0;
  for (std::uint32_t id = 1; id <= btf->type_count() && id < 4096; ++id) {
    (void)btf->resolve_size(id);
    (void)btf->alignment(id);
  }
  (void)BtfExt::parse(rest.subspan(n), *btf);
  auto again = Btf::parse(btf->serialize());
  if (!again || again->type_count() != btf->type_count()) std::abort();
  Btf old_kernel = *btf;
  sanitize_for_kernel(old_kernel, KernelBtfFeatures{false, false, false, false, false, false, false});
  return 0;
}
