// libFuzzer target for everything the runtime reads from a bundle before a
// loader runs: the bundle, the load decision for each scheme, the
// authentication of what the runtime uses (metadata hash, manifest digest),
// the manifest, and the .kconfig values encoded from it. The input is read
// both as a bundle and as a bare manifest, so that the manifest parser and
// the kconfig encoder are reached without a matching digest too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/load/kernel_config.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/manifest.hpp"

namespace {

using namespace bpfsign;

// A configuration holding every name the manifest asks for, with values as
// long as a kernel's own strings, so that an encoder writing past a value's
// size would be caught.
void encode(const loader::LoaderProgram& l) {
  load::KconfigSources sources;
  sources.config.emplace();
  sources.kernel_version = 0x070304;
  load::KernelConfig& config = *sources.config;
  for (const auto& v : l.kconfig) {
    switch (v.type) {
      case object::KconfigType::CharArray: config[v.name] = "\"" + std::string(300, 'x') + "\""; break;
      case object::KconfigType::Int: config[v.name] = "0x7fffffffffffffff"; break;
      default: config[v.name] = "m"; break;
    }
  }
  (void)load::encode_kconfig(l.kconfig, sources, l.context.kconfig_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, size);
  loader::LoaderProgram bare;
  if (loader::parse_manifest(input, bare)) encode(bare);
  auto b = bundle::parse_bundle(input, "fuzz input");
  if (!b) return 0;
  for (sign::Scheme s : sign::kAllSchemes) {
    load::KernelProbe kernel;
    kernel.features.checks_signatures = true;
    kernel.scheme = s;
    load::TrustOptions trust;
    trust.keyring = 1;
    auto plan = load::plan_bundle_load(*b, "fuzz input", kernel, trust);
    if (!plan) continue;
    auto l = load::authenticated_loader(*plan);
    if (l) encode(*l);
  }
  return 0;
}
