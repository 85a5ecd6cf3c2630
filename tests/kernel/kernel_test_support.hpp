// Shared by the tests that need this machine's kernel: the skip that says
// why, and the fd count that shows a failed load left nothing open.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>

#include "bpfsign/kernel/probe.hpp"

namespace bpfsign::test {

// Skips the calling test, saying why, when loader programs cannot run here.
#define BPFSIGN_REQUIRE_LOADERS()                                                                               \
  do {                                                                                                           \
    static const ::bpfsign::kernel::FeatureProbe probe_ = ::bpfsign::kernel::probe_features();                      \
    const ::bpfsign::kernel::ProbeItem* item_ = probe_.find("loader_program");                                   \
    if (item_ == nullptr || item_->state != ::bpfsign::kernel::Support::Yes) {                                   \
      GTEST_SKIP() << "needs bpf(2) and loader programs (root); kernel said: " << (item_ ? item_->detail : "nothing"); \
    }                                                                                                            \
  } while (0)

inline std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace bpfsign::test
