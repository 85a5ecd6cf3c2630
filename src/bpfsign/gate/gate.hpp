// The load gate's life cycle (docs/gate.md): start (load the gate's BPF
// object through bpfsign's own loader, write the policy, attach every
// program, pin it all so that it outlives the command), status, the
// decision log, stop. All of it is library calls; `bpfsign gate` is a thin
// layer over them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/gate/gate_abi.hpp"

namespace bpfsign::gate {

inline const std::filesystem::path kDefaultPinDir = "/sys/fs/bpf/bpfsign-gate";

struct StartResult {
  bool already_running = false;  // the same policy was in force: nothing changed
  std::vector<std::string> attached;  // "lsm bpf_prog_load", ...
};

// Starts the gate with `config`. Idempotent: a gate already pinned at
// `pin_dir` with the same policy is left as it is, if it is whole and its
// pin directories are trusted; one with another policy is refused (stop it
// first). The pin directory is created here, owner only; an existing one
// without a gate is refused. All or nothing: any program that does not
// attach leaves nothing loaded or pinned.
Result<StartResult> start_gate(const GateConfig& config, const std::filesystem::path& pin_dir = kDefaultPinDir);

struct GateStatus {
  bool running = false;   // its policy map is pinned
  GateConfig config;
  std::string missing;          // "" when every program and link it started with is still there
  std::string untrusted_pins;   // "" when only root (or this user) can write its pin directories
  std::vector<std::string> pinned;  // what is under pin_dir, relative
};
Result<GateStatus> gate_status(const std::filesystem::path& pin_dir = kDefaultPinDir);

// Unpins everything the gate pinned: its links go, and with them the gate.
Status stop_gate(const std::filesystem::path& pin_dir = kDefaultPinDir);

// The decisions logged since the last read, oldest first; with `follow`,
// waits for more until `keep_going` returns false (checked at least once
// a second).
Status read_log(const std::filesystem::path& pin_dir, bool follow, const std::function<void(const GateEvent&)>& each,
                const std::function<bool()>& keep_going = [] { return true; });

}  // namespace bpfsign::gate
