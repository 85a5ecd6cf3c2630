// Where a loader reads a map's hash and exclusivity inside the kernel's
// struct bpf_map (the loader-checked scheme; docs/signing.md, "The loader's metadata check").
// struct bpf_map is not UAPI: these offsets are what the kernels we support
// have, measured from each kernel's BTF under qemu (docs/kernels.md), and the
// running kernel's BTF is read before a loader that relies on them is chosen
// (load/kernel_probe.cpp, loader_check_from_btf):
//  - `u8 sha[32]` at byte 0 on every kernel with map hashes (6.18 on);
//  - `u32 excl` right after it, at byte 32, on some (7.1.13, 7.2.x,
//    6.18.44), not on others (6.18.15, 6.19, 7.0, 7.1.3).
#pragma once

#include <cstdint>

namespace bpfsign::abi::bpf_map {

inline constexpr std::int16_t kShaOffset = 0;
inline constexpr std::uint32_t kShaSize = 32;
inline constexpr std::int16_t kExclOffset = 32;

}  // namespace bpfsign::abi::bpf_map
