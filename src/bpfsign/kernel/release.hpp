// The running kernel's names from uname(2), read once per process: its
// release ("6.18.44-amd64") and version ("#1 SMP PREEMPT_DYNAMIC Debian
// 6.18.44-1 ..."). For the record, for finding its configuration file and
// for libbpf's LINUX_KERNEL_VERSION; never to decide what the kernel
// supports (that is probed, kernel/probe.hpp).
#pragma once

#include <string>

namespace bpfsign::kernel {

struct KernelRelease {
  bool known = false;   // uname(2) answered
  std::string release;  // uname -r
  std::string version;  // uname -v
};

// The kernel does not change while we run: asked once, then remembered.
const KernelRelease& running_release();

}  // namespace bpfsign::kernel
