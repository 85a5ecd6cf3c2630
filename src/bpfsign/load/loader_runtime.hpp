// Runs a generated loader on this machine's kernel: creates the metadata
// map, loads the loader, runs it once with BPF_PROG_RUN and takes the fds
// it hands back. A failure names the loader step and object, with the
// verifier log of the load that failed.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

struct LoadedObject {
  UniqueFd btf;
  std::vector<UniqueFd> maps;      // in the model's map order
  std::vector<UniqueFd> programs;  // in the model's program order
  std::vector<std::string> map_names;
  std::vector<std::string> program_names;
};

struct RunOptions {
  std::uint32_t log_level = 1;         // verifier log of program loads
  std::size_t log_size = 4u << 20;
};

Result<LoadedObject> run_loader(const loader::LoaderProgram& loader, const RunOptions& options = {});

}  // namespace bpfsign::load
