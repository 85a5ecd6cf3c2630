#include "bpfsign/load/load_bundle.hpp"

#include <fmt/core.h>

#include "bpfsign/bundle/bundle.hpp"

namespace bpfsign::load {

namespace {

Result<LoadedBundle> load_parsed(const bundle::Bundle& b, const std::string& what, const KernelProbe& kernel, const TrustOptions& trust,
                                 const RunOptions& options) {
  auto plan = plan_bundle_load(b, what, kernel, trust);
  if (!plan) return plan.error();
  auto done = execute_plan(*plan, options);
  if (!done) {
    // The loader closes what it opened before it fails, and every fd the
    // runtime holds is closed on return: a failed load leaves nothing.
    Error e = done.error().with_context(what);  // keeps the kernel's errno for callers
    e.message += "; nothing was loaded";
    return e;
  }
  return LoadedBundle{std::move(plan).value(), std::move(done->loader), std::move(done->object)};
}

}  // namespace

// The bundle is read before the kernel is probed: a malformed file is
// refused as such on any machine.
Result<LoadedBundle> load_bundle(Bytes bytes, const std::string& what, const TrustOptions& trust, const RunOptions& options) {
  auto b = bundle::parse_bundle(bytes, what);
  if (!b) return b.error();
  const KernelProbe& kernel = running_kernel();
  if (kernel.scheme_error) return *kernel.scheme_error;
  return load_parsed(*b, what, kernel, trust, options);
}

Result<LoadedBundle> load_bundle(Bytes bytes, const std::string& what, const KernelProbe& kernel, const TrustOptions& trust,
                                 const RunOptions& options) {
  auto b = bundle::parse_bundle(bytes, what);
  if (!b) return b.error();
  return load_parsed(*b, what, kernel, trust, options);
}

}  // namespace bpfsign::load
