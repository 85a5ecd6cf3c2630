// Attaching loaded programs the way their section names say, through BPF
// links. What cannot be attached automatically is reported, never skipped
// silently.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

struct AttachOptions {
  std::string iface;        // xdp and tcx programs attach to this interface
  std::string cgroup;       // cgroup programs attach to this cgroup directory
  std::string tracefs = "/sys/kernel/tracing";
};

struct Attachment {
  std::string program;
  std::string how;          // "raw_tracepoint sys_enter", "not attached: ..."
  UniqueFd link;            // invalid when not attached
  bool attached() const { return static_cast<bool>(link); }
};

// Attaches every program; a program that cannot be attached (no method, or
// an option missing) gets an Attachment saying why. A kernel refusal is an
// error (links made so far are closed when the result is dropped).
Result<std::vector<Attachment>> attach_programs(const std::vector<loader::ProgramSummary>& programs,
                                                const LoadedObject& loaded, const AttachOptions& options);

}  // namespace bpfsign::load
