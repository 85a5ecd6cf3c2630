// Loading a bundle in one call, as the CLI and the signed skeletons do it:
// the bundle read, the running kernel probed, the decision made
// (load_plan.hpp) and executed (loader_runtime.hpp). The plan is returned
// with what was loaded, so the caller can say what was checked and by whom.
#pragma once

#include <string>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/kernel_probe.hpp"

namespace bpfsign::load {

struct LoadedBundle {
  LoadPlan plan;
  loader::LoaderProgram loader;  // as authenticated
  LoadedObject object;
};

// `what` names the bundle in messages (a file name).
Result<LoadedBundle> load_bundle(Bytes bundle, const std::string& what, const TrustOptions& trust, const RunOptions& options = {});
// The same with the running kernel probed once for many bundles.
Result<LoadedBundle> load_bundle(Bytes bundle, const std::string& what, const KernelProbe& kernel, const TrustOptions& trust,
                                 const RunOptions& options = {});

}  // namespace bpfsign::load
