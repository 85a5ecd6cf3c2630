// Runs against the real kernel of this machine: needs root (CAP_BPF,
// CAP_SYS_ADMIN). Without them each test says why it skipped.
#include <gtest/gtest.h>

#include <unistd.h>

#include "bpfsign/kernel/probe.hpp"

namespace bpfsign::kernel {
namespace {

const FeatureProbe& probe() {
  static const FeatureProbe p = probe_features();
  return p;
}

// A macro, not a function: GTEST_SKIP must return from the test itself.
#define REQUIRE_BPF()                                                                                    \
  do {                                                                                                   \
    const ProbeItem* sys = probe().find("bpf_syscall");                                                  \
    if (sys == nullptr || sys->state != Support::Yes) {                                                  \
      GTEST_SKIP() << "needs bpf(2) (root or CAP_BPF); kernel said: " << (sys ? sys->detail : "nothing"); \
    }                                                                                                    \
  } while (0)

TEST(FeatureProbe, EveryFeatureGetsAnAnswer) {
  REQUIRE_BPF();
  for (const char* id : {"bpf_syscall", "kernel_btf", "loader_program", "exclusive_map", "map_hash",
                         "signature_verification"}) {
    const ProbeItem* item = probe().find(id);
    ASSERT_NE(item, nullptr) << id;
    EXPECT_NE(item->state, Support::Unknown) << id << ": " << item->detail;
    EXPECT_FALSE(item->detail.empty()) << id;
  }
  EXPECT_FALSE(probe().summary.empty());
}

// Every kernel this project targets (>= 6.18) runs loaders and has
// exclusive maps and frozen-map hashes (docs/kernels.md).
TEST(FeatureProbe, LoaderGenerationFeaturesArePresent) {
  REQUIRE_BPF();
  for (const char* id : {"loader_program", "exclusive_map", "map_hash"}) {
    const ProbeItem* item = probe().find(id);
    ASSERT_NE(item, nullptr);
    EXPECT_EQ(item->state, Support::Yes) << id << ": " << item->detail;
  }
}

// The map hash covers the value area padded to 8 bytes, and is refused
// while the map is not frozen (CVE-2026-45927 fixed).
TEST(FeatureProbe, MapHashIsOverThePaddedFrozenValue) {
  REQUIRE_BPF();
  const ProbeItem* item = probe().find("map_hash");
  ASSERT_NE(item, nullptr);
  EXPECT_NE(item->detail.find("round_up(value_size, 8)"), std::string::npos) << item->detail;
  EXPECT_NE(item->detail.find("unfrozen map refused"), std::string::npos) << item->detail;
}

TEST(FeatureProbe, SignatureAnswerIsConsistent) {
  REQUIRE_BPF();
  const ProbeItem* item = probe().find("signature_verification");
  ASSERT_NE(item, nullptr);
  EXPECT_EQ(probe().checks_signatures, item->state == Support::Yes);
  if (!probe().checks_signatures) {
    EXPECT_NE(probe().summary.find("does NOT verify signatures"), std::string::npos);
  }
}

}  // namespace
}  // namespace bpfsign::kernel
