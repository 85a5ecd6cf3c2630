// An application built against a C++ skeleton of runtime_settings.bpf.o
// whose signer declared runtime settings (runtime_settings.settings.json):
// it sets them through the skeleton's typed setters before load, and checks
// that a value outside its bounds is refused, that the values given are in
// effect (.rodata, a map's size, the count_chdir program's arithmetic seen
// in .bss) and which optional programs were skipped and why.
//   settings_skeleton_app          the object's skeleton (unsigned loader)
//   settings_skeleton_app - CERT   the signed bundle's skeleton, verified
//                                  offline against CERT (this kernel checks
//                                  no signature)
// Exit 0: as expected; 77: skipped (needs root); 1: failure.
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "settings.skel.hpp"

#ifdef SIGNED_SKELETON
#include "bpfsign/sign/keys.hpp"
#endif

namespace {

using Skeleton = runtime_settings_skel::Skeleton;

int failures = 0;

void expect(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what.c_str());
  if (!ok) ++failures;
}

bool refused(const bpfsign::Status& s, const std::string& needle) {
  if (s) return false;
  std::printf("  refused: %s\n", s.error().message.c_str());
  return s.error().message.find(needle) != std::string::npos;
}

bpfsign::Status load(Skeleton& skel, [[maybe_unused]] const char* cert) {
#ifdef SIGNED_SKELETON
  bpfsign::load::TrustOptions trust;
  auto c = bpfsign::sign::Certificate::load(cert);
  if (!c) return c.error();
  trust.trust.certificates.push_back(*c);
  trust.offline_verified = true;
  return skel.load(trust);
#else
  return skel.load();
#endif
}

}  // namespace

int main(int argc, char** argv) {
#ifdef SIGNED_SKELETON
  if (argc != 3) {
    std::fprintf(stderr, "usage: settings_signed_skeleton_app - CERT\n");
    return 2;
  }
  const char* cert = argv[2];
#else
  (void)argc, (void)argv;
  const char* cert = nullptr;
#endif
  // The setters' own check needs no kernel.
  Skeleton skel = Skeleton::open();
  expect(refused(skel.set_step(3), "one of 1, 2, 5"), "set_step(3) refused before load");
  expect(refused(skel.set_delta(-101), "-100..100"), "set_delta(-101) refused");
  expect(refused(skel.set_max_entries_counts(63), "64..65536"), "set_max_entries_counts(63) refused");
  expect(refused(skel.set_verbose(2), "one of 0, 1"), "set_verbose(2) refused");
  if (failures != 0) return 1;
  if (geteuid() != 0) {
    std::puts("skipped: loading BPF programs needs root (bpf(2))");
    return 77;
  }

  const auto pid = static_cast<std::uint32_t>(::getpid());
  expect(static_cast<bool>(skel.set_targ_tgid(pid)), "set_targ_tgid(own pid)");
  expect(static_cast<bool>(skel.set_step(2)) && static_cast<bool>(skel.set_step(5)), "set_step(2), then set_step(5): the last counts");
  expect(static_cast<bool>(skel.set_delta(-42)), "set_delta(-42)");
  expect(static_cast<bool>(skel.set_max_entries_counts(4096)), "set_max_entries_counts(4096)");
  // This machine's lockdown refuses trampolines: the fentry program is
  // skipped, and its kprobe fallback loads instead.
  expect(static_cast<bool>(skel.skip_on_unlink_fentry()), "skip_on_unlink_fentry()");
  if (auto s = load(skel, cert); !s) {
    std::printf("load: %s\n", s.error().message.c_str());
    return 1;
  }
#ifdef SIGNED_SKELETON
  std::printf("checked by: %s\n", skel.plan().checked_by().c_str());
#endif
  expect(skel.rodata().targ_tgid() == pid && skel.rodata().step() == 5 && skel.rodata().delta() == -42,
         ".rodata holds targ_tgid, step and delta as set");
  auto counts = bpfsign::kernel::map_info(skel.maps().counts);
  expect(counts.ok() && counts->max_entries == 4096,
         "map counts has max_entries 4096");
  expect(skel.progs().on_unlink_fentry == -1 && skel.progs().on_sync_fentry == -1, "skipped programs' fds are -1");
  expect(skel.progs().on_unlink_kprobe > 0 && skel.progs().on_sync_kprobe > 0, "both kprobe fallbacks loaded");
  bool asked = false, missing = false;
  for (const auto& p : skel.skipped()) {
    std::printf("  skipped %s: %s\n", p.name.c_str(), p.reason().c_str());
    asked = asked || (p.name == "on_unlink_fentry" && p.why == bpfsign::loader::ProgramOutcome::SkippedAsAsked);
    missing = missing || (p.name == "on_sync_fentry" && p.why == bpfsign::loader::ProgramOutcome::TargetMissing);
  }
  expect(skel.skipped().size() == 2 && asked && missing, "skipped(): on_unlink_fentry as asked, on_sync_fentry's target missing");
  expect(refused(skel.set_step(1), "which has run"), "a setter after load is refused");

  if (auto s = skel.attach(); !s) {
    std::printf("attach: %s\n", s.error().message.c_str());
    return 1;
  }
  for (const auto& a : skel.attachments()) std::printf("  %s: %s\n", a.program.c_str(), a.how.c_str());
  const auto cwd = std::filesystem::current_path();
  constexpr std::uint64_t kChdirs = 7;
  for (std::uint64_t i = 0; i < kChdirs; ++i) {
    if (::chdir("/") != 0) return 1;
  }
  std::filesystem::current_path(cwd);
  const std::uint64_t calls = skel.bss().calls(), hits = skel.bss().hits();
  std::printf("  .bss calls %llu, hits %llu, seen_delta %lld\n", static_cast<unsigned long long>(calls), static_cast<unsigned long long>(hits),
              static_cast<long long>(skel.bss().seen_delta()));
  expect(calls >= kChdirs && hits == 5 * calls, "count_chdir counted this process's chdir(2) calls with step 5");
  expect(skel.bss().seen_delta() == -42, "count_chdir saw delta -42");
  return failures == 0 ? 0 : 1;
}
