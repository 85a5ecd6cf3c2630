// Which signature scheme the running kernel enforces, found by asking the
// kernel itself (never from its version string):
//  - whether it checks signatures at all: a load carrying a malformed
//    signature (kernel/probe.cpp; EOPNOTSUPP means it cannot);
//  - which scheme: a throwaway ECDSA key is enrolled in a keyring private
//    to this process, and a two-instruction loader bound to an exclusive,
//    frozen map is signed both ways; the one the kernel accepts is the
//    scheme it enforces. (The kernels' BTF cannot tell: 6.19 and 7.0 lack
//    struct bpf_map's `excl` like 7.3 but verify instructions only, like
//    7.2 - measured under qemu.)
//  - for the loader-checked scheme, which metadata check the kernel's
//    struct bpf_map allows: sha[32] with `excl` at 32, or sha[32] alone.
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
  std::string scheme_evidence;           // what the kernel answered to the signed probes, and its map layout
};

// Reads the BTF at `vmlinux_btf` (default /sys/kernel/btf/vmlinux).
Result<SchemeProbe> probe_scheme(const std::string& vmlinux_btf = "/sys/kernel/btf/vmlinux");

// The first members of struct bpf_map in a kernel BTF blob, "name@byte ..."
// (evidence for the table of kernels; the loader's check depends on it).
std::string bpf_map_layout(Bytes vmlinux_btf, std::size_t members = 6);

// The loader-checked variant a kernel's struct bpf_map allows (from its
// BTF): LoaderChecked (sha[32] then `u32 excl` at 32), LoaderCheckedHashOnly
// (sha[32], no excl), or none.
Result<std::pair<std::optional<sign::Scheme>, std::string>> loader_check_from_btf(Bytes vmlinux_btf);

}  // namespace bpfsign::load
