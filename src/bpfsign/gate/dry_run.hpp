// What the gate would decide for a bundle's load under a policy, on each
// kernel generation, without a kernel (`bpfsign gate dry-run`): the loader's
// own load, then each program, map and BTF its decoded commands create
// (audit/loader_decoder.hpp: what the signed instructions do, not what a
// table says). The gate's BPF programs make the same decisions; the qemu
// matrix compares the two on the same cases.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/gate/gate_abi.hpp"
#include "bpfsign/gate/policy.hpp"

namespace bpfsign::gate {

struct DryRunDecision {
  std::string generation;  // "6.18-7.2.5", "7.2.6-7.2", "7.3"
  Kind kind = Kind::Program;
  std::string name;        // program or map name; "" for BTF and the loader
  bool loader = false;     // the signed loader itself
  std::string type;        // program or map type name
  Decision decision = Decision::Admitted;
  Rule rule = Rule::None;
};

struct DryRun {
  std::vector<DryRunDecision> decisions;
  // Per generation, what an admission there proves (docs/gate.md).
  std::vector<std::pair<std::string, std::string>> guarantees;
};

// `keyring`: the keyring the load will name (a name as in the policy, or a
// serial); nullopt: none given. A keyring signer admits the loader when
// the load names its keyring; a certificate signer when the bundle
// verifies against its certificates (the load then names its keyring).
Result<DryRun> dry_run(const Policy& policy, const bundle::Bundle& bundle, const std::optional<std::string>& keyring);

}  // namespace bpfsign::gate
