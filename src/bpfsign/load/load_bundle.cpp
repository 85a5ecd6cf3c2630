#include "bpfsign/load/load_bundle.hpp"

#include <fmt/core.h>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/load/scheme_probe.hpp"

namespace bpfsign::load {

Result<LoadedBundle> load_bundle(Bytes bytes, const std::string& what, const TrustOptions& trust, const RunOptions& options) {
  auto b = bundle::parse_bundle(bytes, what);
  if (!b) return b.error();
  auto probe = probe_scheme();
  if (!probe) return probe.error();
  auto plan = plan_bundle_load(*b, what, *probe, trust);
  if (!plan) return plan.error();
  auto done = execute_plan(*plan, options);
  if (!done) {
    // The loader closes what it opened before it fails, and every fd the
    // runtime holds is closed on return: a failed load leaves nothing.
    return Error{done.error().kind, fmt::format("{}: {}; nothing was loaded", what, done.error().message)};
  }
  return LoadedBundle{std::move(plan).value(), std::move(done->loader), std::move(done->object)};
}

}  // namespace bpfsign::load
