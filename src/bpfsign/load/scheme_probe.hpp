// Which signature scheme the running kernel enforces, found from the
// kernel itself (never from its version string):
//  - whether it checks signatures at all: a load carrying a malformed
//    signature (kernel/probe.cpp; EOPNOTSUPP means it cannot);
//  - which generation it is: the kernel's own BTF of struct bpf_map. The
//    loader-checked generation (6.18-7.2) has `u8 sha[32]` then `u32 excl`
//    at offset 32 - the layout the loader's metadata check reads; 7.3
//    dropped `excl` when the kernel began to check exclusivity and map
//    contents itself (kernel-chained). Anything else is refused by name.
#pragma once

#include <optional>
#include <string>

#include "bpfsign/common/error.hpp"
#include "bpfsign/sign/scheme.hpp"

namespace bpfsign::load {

struct SchemeProbe {
  bool checks_signatures = false;
  std::string signature_evidence;        // the kernel's answer to a malformed signature
  std::optional<sign::Scheme> scheme;    // empty: this kernel has no signed-loader scheme we know
  std::string scheme_evidence;           // what in the kernel's BTF decided it
};

// Reads the BTF at `vmlinux_btf` (default /sys/kernel/btf/vmlinux).
Result<SchemeProbe> probe_scheme(const std::string& vmlinux_btf = "/sys/kernel/btf/vmlinux");

// The generation from a kernel BTF blob alone (testable without a kernel).
Result<std::pair<std::optional<sign::Scheme>, std::string>> scheme_from_btf(Bytes vmlinux_btf);

}  // namespace bpfsign::load
