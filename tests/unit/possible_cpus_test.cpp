// The possible-CPU count that sizes a perf event array declared without
// max_entries, counted from a kernel CPU list as libbpf counts it.
#include <gtest/gtest.h>

#include "bpfsign/load/possible_cpus.hpp"

namespace bpfsign::load {
namespace {

TEST(PossibleCpus, CountsKernelCpuLists) {
  EXPECT_EQ(*count_cpu_list("0\n"), 1u);
  EXPECT_EQ(*count_cpu_list("0-3\n"), 4u);
  EXPECT_EQ(*count_cpu_list("0,2-5,7"), 6u);
  EXPECT_EQ(*count_cpu_list("0-8191"), 8192u);
}

TEST(PossibleCpus, RefusesWhatIsNotACpuList) {
  for (const char* bad : {"", "\n", "x", "3-1", "0-", "-1", "0,,1", "0-3,", "1 2", "0-99999999999"}) {
    SCOPED_TRACE(bad);
    auto r = count_cpu_list(bad);
    EXPECT_FALSE(r.ok());
  }
}

TEST(PossibleCpus, TheRunningMachineHasAtLeastOne) {
  auto n = possible_cpus();
  if (!n) GTEST_SKIP() << n.error().message;
  EXPECT_GE(*n, 1u);
}

}  // namespace
}  // namespace bpfsign::load
