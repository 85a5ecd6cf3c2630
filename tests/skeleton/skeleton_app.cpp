// An application built against a generated C++ skeleton (subprogs.bpf.o):
// it loads the object, attaches its programs, puts a value in the `values`
// map (through the skeleton's map fd), makes system calls, and reads the
// counter the raw_tp/sys_enter program adds that value into (.bss `total`,
// read through memory).
// Exit 0: the counter moved; 77: skipped (no bpf(2) here: needs root); 1: failure.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "bpfsign/kernel/bpf_syscall.hpp"
#include "subprogs.skel.hpp"

int main() {
  if (geteuid() != 0) {
    std::puts("skipped: loading BPF programs needs root (bpf(2))");
    return 77;
  }
  auto skel = subprogs_skel::Skeleton::open_and_load();
  if (!skel) {
    std::printf("open_and_load: %s\n", skel.error().message.c_str());
    return 1;
  }
  if (auto s = skel->attach(); !s) {
    std::printf("attach: %s\n", s.error().message.c_str());
    return 1;
  }
  const std::uint32_t key = 0;
  const std::uint64_t one = 1;
  auto put = bpfsign::kernel::map_update(skel->maps().values, &key, &one);
  if (!put) {
    std::puts("map update failed");
    return 1;
  }
  const std::uint64_t before = skel->bss().total();
  for (int i = 0; i < 10; ++i) ::syscall(SYS_getppid);
  const std::uint64_t after = skel->bss().total();
  std::printf("programs: with_callbacks fd %d, shared_subprog fd %d; .bss total %llu -> %llu\n", skel->progs().with_callbacks,
              skel->progs().shared_subprog, static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  for (const auto& a : skel->attachments()) std::printf("  %s: %s\n", a.program.c_str(), a.how.c_str());
  return after > before ? 0 : 1;
}
