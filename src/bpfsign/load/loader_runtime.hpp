// Executes a load plan on this machine's kernel: creates the metadata map,
// loads the loader, authenticates what the runtime reads, runs the loader
// once with BPF_PROG_RUN and takes the fds it hands back. A failure names
// the loader step and object, with the verifier log of the load that failed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

struct LoadedObject {
  UniqueFd btf;
  std::vector<UniqueFd> maps;      // in the model's map order
  std::vector<UniqueFd> programs;  // in the model's program order
  std::vector<std::string> map_names;
  std::vector<std::string> program_names;
};

// How a plan is executed. Nothing here chooses what is loaded or trusted:
// the plan did (load_plan.hpp).
struct RunOptions {
  std::uint32_t log_level = 1;         // verifier log of program loads
  std::size_t log_size = 4u << 20;
  // Both true in every real load of a signed plan. Turned off only to show
  // that a kernel (or the loader's check) refuses a metadata map that is not
  // exclusive or not frozen (tests, the VM matrix).
  bool exclusive_metadata = true;
  bool freeze_metadata = true;
};

// A loader in the kernel, not yet run: its metadata map and the program.
struct KernelLoader {
  UniqueFd metadata_map;
  UniqueFd program;
};

// Step 1: the metadata map (made exclusive to the loader, filled, frozen and
// hashed, for a signed plan) and the loader program, with the plan's
// signature and keyring. A kernel that checks signatures checks them here.
Result<KernelLoader> load_loader(const LoadPlan& plan, const RunOptions& options = {});

// Step 2, after step 1 succeeded: what the runtime reads from the plan,
// authenticated (load_plan.hpp): the metadata's hash against the one the
// accepted loader embeds (loader-checked schemes), the manifest's digest
// against the metadata's last bytes, then the manifest parsed.
Result<loader::LoaderProgram> authenticated_loader(const LoadPlan& plan);

// Step 3: the loader run once, with the context `loader` describes; the fds
// it hands back.
Result<LoadedObject> run_loaded(const KernelLoader& kernel_loader, const loader::LoaderProgram& loader, const RunOptions& options = {});

// The three steps in order.
struct LoadedPlan {
  loader::LoaderProgram loader;  // as authenticated: names, attach methods, context
  LoadedObject object;
};
Result<LoadedPlan> execute_plan(const LoadPlan& plan, const RunOptions& options = {});

// A loader generated here, loaded unsigned: plan_object_load, then
// execute_plan (the kernel tests, the skeletons of objects).
Result<LoadedObject> run_loader(const loader::LoaderProgram& loader, const RunOptions& options = {});

}  // namespace bpfsign::load
