// libbpf's built-in .kconfig externs, answered at load time the way libbpf
// answers them, from the running kernel rather than its configuration:
//   LINUX_KERNEL_VERSION       KERNEL_VERSION(a, b, c) of the kernel: from
//                              /proc/version_signature on Ubuntu, from the
//                              "Debian a.b.c" of uname's version on Debian
//                              (whose release string says a.b.0), else from
//                              the release;
//   LINUX_HAS_BPF_COOKIE       whether a tracepoint program may call
//                              bpf_get_attach_cookie (a load is tried);
//   LINUX_HAS_SYSCALL_WRAPPER  whether system calls go through the
//                              architecture's wrappers (__x64_sys_bpf on
//                              x86-64): libbpf places a kprobe on that symbol;
//                              bpfsign looks the symbol up in /proc/kallsyms,
//                              which is what makes that kprobe possible.
// Which name is which: object::kconfig_source.
#pragma once

#include <cstdint>
#include <string>

namespace bpfsign::load {

// KERNEL_VERSION(a, b, c), c capped at 255, from the three sources libbpf
// reads, in its order; 0 when none parses.
std::uint32_t kernel_version_code(const std::string& version_signature, const std::string& uname_version, const std::string& uname_release);

// The running kernel's answers (each computed when asked).
std::uint32_t running_kernel_version();
bool running_kernel_has_bpf_cookie();
bool running_kernel_has_syscall_wrapper();

}  // namespace bpfsign::load
