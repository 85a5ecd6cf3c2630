// The running kernel as bpfsign loads on it, found by asking the kernel
// itself (never from its version string), once per process, and reported by
// `bpfsign probe`:
//  - its release and each bpf(2) feature, including whether it checks
//    signatures at all: a load carrying a malformed signature
//    (kernel/probe.hpp; EOPNOTSUPP means it cannot);
//  - which scheme: a throwaway ECDSA key is enrolled in a keyring private
//    to this process, and a two-instruction loader bound to an exclusive,
//    frozen map is signed both ways; the one the kernel accepts is the
//    scheme it enforces. (The kernels' BTF cannot tell: 6.19 and 7.0 lack
//    struct bpf_map's `excl` like 7.3 but verify instructions only, like
//    7.2 - measured under qemu.)
//  - for the loader-checked scheme, which metadata check the kernel's
//    struct bpf_map allows: sha[32] with `excl` at 32, or sha[32] alone
//    (abi/bpf_map_layout.hpp).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "bpfsign/common/error.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/sign/scheme.hpp"

namespace bpfsign::load {

inline constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

struct KernelProbe {
  kernel::FeatureProbe features;       // release, each feature tried, whether signatures are checked, summary
  std::optional<sign::Scheme> scheme;  // empty: this kernel has no signed-loader scheme we know
  std::string scheme_evidence;         // what the kernel answered to the signed probes, and its map layout
  std::string map_layout;              // struct bpf_map's first members in the kernel's BTF (bpf_map_layout)
  // Why the scheme could not be probed (the kernel's BTF unreadable, no
  // throwaway key, ...): a load cannot go on, but the features still tell.
  std::optional<Error> scheme_error;

  bool checks_signatures() const { return features.checks_signatures; }
  // The kernel's answer to a malformed signature.
  std::string signature_evidence() const;
};

// The running kernel, probed on first use and remembered for the rest of the
// process (the kernel does not change under us; thread-safe). Every load,
// boot and `bpfsign probe` reads this one.
const KernelProbe& running_kernel();

// A fresh probe, reading the kernel BTF at `vmlinux_btf`; nothing remembered.
KernelProbe probe_kernel(const std::string& vmlinux_btf = kVmlinuxBtf);

// The first members of struct bpf_map in a kernel BTF blob, "name@byte ..."
// (evidence for the table of kernels; the loader's check depends on it).
std::string bpf_map_layout(Bytes vmlinux_btf, std::size_t members = 6);

// The loader-checked variant a kernel's struct bpf_map allows (from its
// BTF): LoaderChecked (sha[32] then `u32 excl` at 32), LoaderCheckedHashOnly
// (sha[32], no excl), or none.
Result<std::pair<std::optional<sign::Scheme>, std::string>> loader_check_from_btf(Bytes vmlinux_btf);

}  // namespace bpfsign::load
