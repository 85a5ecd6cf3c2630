// An application built against a signed C++ skeleton: `bpfsign gen skeleton`
// of a bundle of subprogs.bpf.o (every scheme's signed loader embedded). It
// loads through the same decision as `bpfsign load`, with the keyring it
// names, attaches, and checks that its raw_tp program counts system calls.
//   signed_skeleton_app KEYRING            a kernel that checks signatures
//   signed_skeleton_app - CERT             one that does not: bpfsign's
//                                          offline check against CERT instead
// Prints who checked what. Exit 0: loaded and counting; 77: skipped (needs
// root); 1: failure.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/sign/keys.hpp"
#include "subprogs_signed.skel.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: signed_skeleton_app KEYRING | signed_skeleton_app - CERT\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::puts("skipped: loading BPF programs needs root (bpf(2))");
    return 77;
  }
  bpfsign::load::TrustOptions trust;
  if (std::string(argv[1]) != "-") trust.keyring = std::stoi(argv[1]);
  if (argc == 3) {
    auto cert = bpfsign::sign::Certificate::load(argv[2]);
    if (!cert) {
      std::printf("certificate: %s\n", cert.error().message.c_str());
      return 1;
    }
    trust.trust.certificates.push_back(*cert);
    trust.offline_verified = true;
  }
  auto skel = subprogs_signed_skel::Skeleton::open_and_load(trust);
  if (!skel) {
    std::printf("open_and_load: %s\n", skel.error().message.c_str());
    return 1;
  }
  std::printf("scheme %s; checked by: %s\n", bpfsign::sign::scheme_name(*skel->plan().scheme), skel->plan().checked_by().c_str());
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
  std::printf(".bss total %llu -> %llu\n", static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
  return after > before ? 0 : 1;
}
