#include "bpfsign/load/builtin_externs.hpp"

#include <charconv>
#include <fstream>

#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/abi/helper_ids.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/release.hpp"

namespace bpfsign::load {

namespace {

std::uint32_t version_of(unsigned a, unsigned b, unsigned c) { return (a << 16) + (b << 8) + (c > 255 ? 255 : c); }

// KERNEL_VERSION of the "a.b.c" that `text` starts with (after blanks, as
// sscanf's %u skips them); 0 if it does not.
std::uint32_t leading_version(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  unsigned parts[3] = {};
  for (int i = 0; i < 3; ++i) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parts[i]);
    if (ec != std::errc{}) return 0;
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (i < 2) {
      if (text.empty() || text.front() != '.') return 0;
      text.remove_prefix(1);
    }
  }
  return version_of(parts[0], parts[1], parts[2]);
}

// `text` after its first `fields` blank-separated fields.
std::string_view after_fields(std::string_view text, int fields) {
  for (int i = 0; i < fields; ++i) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.front() != ' ') text.remove_prefix(1);
  }
  return text;
}

// The name of the bpf system call's wrapper on this architecture.
const char* syscall_wrapper_symbol() {
#if defined(__x86_64__)
  return "__x64_sys_bpf";
#elif defined(__aarch64__)
  return "__arm64_sys_bpf";
#elif defined(__s390x__)
  return "__s390x_sys_bpf";
#elif defined(__riscv)
  return "__riscv_sys_bpf";
#else
  return nullptr;
#endif
}

}  // namespace

std::uint32_t kernel_version_code(const std::string& version_signature, const std::string& uname_version, const std::string& uname_release) {
  // Ubuntu: "Ubuntu 6.8.0-40.40-generic 6.8.12" - the third field.
  if (std::uint32_t v = leading_version(after_fields(version_signature, 2)); v != 0) return v;
  // Debian: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)".
  if (const auto at = uname_version.find("Debian "); at != std::string::npos) {
    if (std::uint32_t v = leading_version(std::string_view(uname_version).substr(at + 7)); v != 0) return v;
  }
  return leading_version(uname_release);
}

std::uint32_t running_kernel_version() {
  std::string signature;
  if (std::ifstream f("/proc/version_signature"); f) std::getline(f, signature);
  const kernel::KernelRelease& u = kernel::running_release();
  if (!u.known) return 0;
  return kernel_version_code(signature, u.version, u.release);
}

bool running_kernel_has_bpf_cookie() {
  const std::vector<std::uint8_t> insns =
      isa::encode_program({isa::Call{isa::CallKind::Helper, abi::kHelperGetAttachCookie, 0}, isa::Exit{}});
  kernel::ProgLoadRequest req;
  req.prog_type = abi::prog_type::kTracepoint;
  req.insns = insns;
  req.name = "bpfsign_cookie";
  return kernel::prog_load(req).ok();
}

bool running_kernel_has_syscall_wrapper() {
  const char* symbol = syscall_wrapper_symbol();
  if (symbol == nullptr) return false;
  std::ifstream kallsyms("/proc/kallsyms");
  std::string address, kind, name;
  while (kallsyms >> address >> kind >> name) {
    if (name == symbol) return true;
    kallsyms.ignore(4096, '\n');  // a module name may follow
  }
  return false;
}

}  // namespace bpfsign::load
