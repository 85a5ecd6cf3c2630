// Runs a generated loader on this machine's kernel: creates the metadata
// map, loads the loader, runs it once with BPF_PROG_RUN and takes the fds
// it hands back. A failure names the loader step and object, with the
// verifier log of the load that failed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/sign/scheme.hpp"

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
  // Loading a loader of a signature scheme (a bundle's): the metadata map is
  // made exclusive to exactly this loader (excl_prog_hash), filled, frozen,
  // and its hash computed (BPF_OBJ_GET_INFO_BY_FD) before the loader loads;
  // kernel-chained loads set fd_array_cnt so the kernel chains the map into
  // the signature. Without a scheme the metadata map is a plain array.
  std::optional<sign::Scheme> scheme;
  std::span<const std::uint8_t> signature;  // empty: the load carries none
  std::int32_t keyring_id = 0;
  // Both true in every real load. Turned off only to show that a kernel (or
  // the loader's check) refuses a metadata map that is not exclusive or not
  // frozen (tests, the VM matrix).
  bool exclusive_metadata = true;
  bool freeze_metadata = true;
};

Result<LoadedObject> run_loader(const loader::LoaderProgram& loader, const RunOptions& options = {});

}  // namespace bpfsign::load
