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
#include "bpfsign/load/runtime_settings.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

// An optional program the loader did not load, and why.
struct SkippedProgram {
  std::string name;
  loader::ProgramOutcome why = loader::ProgramOutcome::SkippedAsAsked;
  std::string reason() const;  // "skipped as asked", "its attach target '...' is missing from the running kernel", ...
  std::string target;          // the attach target, for reason()
  std::string primary;         // a fallback's primary, for reason()
};

struct LoadedObject {
  UniqueFd btf;
  std::vector<UniqueFd> maps;      // in the model's map order
  std::vector<UniqueFd> programs;  // in the model's program order; a skipped optional program's is invalid (-1)
  std::vector<SkippedProgram> skipped;
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
  // Values for the settings the signer declared; checked against the
  // declaration here, then by the signed loader in the kernel.
  RuntimeSettings settings;
  // False only to show that the loader itself refuses a value outside its
  // bounds (tests, the VM matrix): the values go into the context unchecked.
  bool check_settings = true;
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
