// libFuzzer target for the bundle reader and everything that reads a
// parsed bundle without a key: the manifest, the signatures' structure and
// the offline verifier (which decodes the loader-checked loader), and the
// symbolic decoder of loaders (bpfsign inspect).
#include <cstddef>
#include <cstdint>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/sign/pkcs7.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bpfsign;
  auto b = bundle::parse_bundle(Bytes(data, size), "fuzz input");
  if (!b) return 0;
  for (sign::Scheme s : sign::kAllSchemes) (void)bundle::loader_from_bundle(*b, s);
  for (const auto& s : b->signatures) (void)sign::read_signature_shape(s.der);
  (void)verify::verify_bundle(*b, verify::Trust{});
  for (sign::Scheme s : sign::kAllSchemes) {
    if (!b->loader_for(s).empty()) (void)audit::decode_loader(b->loader_for(s), b->metadata);
  }
  return 0;
}
