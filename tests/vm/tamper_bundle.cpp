// tamper_bundle IN OUT KIND: writes a copy of bundle IN with one defect, for
// the qemu matrix's command-line rows (each must be refused before the
// loader runs, nothing loaded, nothing pinned):
//   metadata     one metadata byte changed (not the manifest digest at its
//                end, so the manifest still matches it)
//   kconfig-size a .kconfig value of a size no type can have (an 8 KiB
//                integer and an empty string) put in the manifest, and the
//                manifest's new digest written at the end of the metadata:
//                the bundle is consistent, only no signature covers it
// and, for the fuzzers' seeds (scripts/fuzz.sh), no defect at all:
//   manifest     OUT is the bundle's manifest alone
#include <cstring>
#include <string>

#include <fmt/core.h>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/loader/manifest.hpp"

using namespace bpfsign;

namespace {
int fail(const Error& e) {
  fmt::print(stderr, "tamper_bundle: {}\n", e.message);
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    fmt::print(stderr, "usage: tamper_bundle IN OUT metadata|kconfig-size|manifest\n");
    return 2;
  }
  const std::string kind = argv[3];
  auto bytes = read_file(argv[1]);
  if (!bytes) return fail(bytes.error());
  auto b = bundle::parse_bundle(*bytes, argv[1]);
  if (!b) return fail(b.error());
  if (kind == "manifest") {
    if (auto ok = write_file_atomic(argv[2], b->manifest); !ok) return fail(ok.error());
    return 0;
  }
  if (kind == "metadata") {
    b->metadata[b->metadata.size() / 2] ^= 0x40;
  } else if (kind == "kconfig-size") {
    loader::LoaderProgram l;
    if (auto ok = loader::parse_manifest(b->manifest, l); !ok) return fail(ok.error());
    const std::uint32_t at = (l.context.kconfig_size + 7u) & ~7u;
    l.kconfig.push_back({"CONFIG_HZ", object::KconfigType::Int, false, false, at, 8192});
    l.kconfig.push_back({"CONFIG_LOCALVERSION", object::KconfigType::CharArray, false, false, at, 0});
    l.context.kconfig_size = at + 8192;
    b->manifest = loader::serialize_manifest(l);
    const Sha256 digest = sha256(b->manifest);
    std::memcpy(b->metadata.data() + b->metadata.size() - digest.size(), digest.data(), digest.size());
  } else {
    fmt::print(stderr, "unknown defect '{}'\n", kind);
    return 2;
  }
  if (auto ok = write_file_atomic(argv[2], bundle::serialize_bundle(*b)); !ok) return fail(ok.error());
  return 0;
}
