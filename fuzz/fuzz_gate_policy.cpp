// libFuzzer target for a load gate policy (`bpfsign gate start --policy`,
// `gate dry-run --policy`): the strict JSON parser and every field check.
// Resolution is not fuzzed: it reads files and writes keyrings.
#include <cstddef>
#include <cstdint>

#include "bpfsign/gate/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto policy = bpfsign::gate::parse_policy(bpfsign::Bytes(data, size), "fuzz.json");
  if (policy) {
    // What parsing promises: bounded lists, signers of one form each.
    if (policy->signers.size() > bpfsign::gate::kMaxKeyrings) __builtin_trap();
    for (const auto& s : policy->signers) {
      if (s.keyring.empty() && !s.serial) __builtin_trap();
    }
  }
  return 0;
}
