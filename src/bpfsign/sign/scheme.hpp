// What a signature covers, per kernel scheme (docs/kernels.md):
//   loader-checked (6.18-7.2): the loader's instructions, which embed the
//     metadata's hash and check it themselves (loader/metadata_check.hpp);
//   kernel-chained (7.3+): the instructions followed by the value of each
//     exclusive, frozen map in fd_array order; fd_array_cnt set;
//   hash chain (the seed patchset): the 32 bytes
//     T = SHA-256(SHA-256(insns) ‖ h(0)), h(last) = H(map_last),
//     h(k) = SHA-256(h(k+1) ‖ H(map_k)), H = SHA-256 of a map's value area.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"

namespace bpfsign::sign {

// LoaderCheckedHashOnly is the loader-checked scheme for kernels whose
// struct bpf_map has no `excl` field the loader could read (6.19, 7.0,
// measured): the loader checks the metadata hash only.
enum class Scheme : std::uint32_t { LoaderChecked = 1, KernelChained = 2, HashChain = 3, LoaderCheckedHashOnly = 4 };
inline constexpr Scheme kAllSchemes[] = {Scheme::LoaderChecked, Scheme::KernelChained, Scheme::HashChain, Scheme::LoaderCheckedHashOnly};
// "loader-checked", "kernel-chained", "hash-chain", "loader-checked-hash-only"
const char* scheme_name(Scheme scheme);
// Whether the signature covers the instructions only (the loader checks the metadata).
inline bool loader_checks_metadata(Scheme s) { return s == Scheme::LoaderChecked || s == Scheme::LoaderCheckedHashOnly; }
Result<Scheme> parse_scheme(std::uint32_t raw);
// A scheme by its name; an unknown name is a usage error listing the names.
Result<Scheme> scheme_from_name(std::string_view name);

// An array map's value area as the kernel hashes it: round_up(size, 8)
// bytes per element, padding zeroed. The metadata maps hold one element.
std::vector<std::uint8_t> value_area(Bytes value);
// The zero bytes value_area() appends to `value` (0 to 7), for hashing the
// area in parts without building it.
Bytes value_area_padding(Bytes value);

// The hash chain's links: what a verifier, an LSM or the kernel model
// checks one by one without holding the contents.
struct ChainLinks {
  Sha256 insns{};               // SHA-256 of the loader's instructions
  std::vector<Sha256> maps;     // H(map_k), fd_array order
  std::vector<Sha256> chain;    // h(k)
  Sha256 top{};                 // T, the signed content
};
ChainLinks hash_chain(Bytes insns, std::span<const Bytes> map_values);
// The same from the instructions' digest, for a caller that has it.
ChainLinks hash_chain(const Sha256& insns_hash, std::span<const Bytes> map_values);
// Recomputes h(k) and T from the link values alone.
Sha256 chain_top(const Sha256& insns, std::span<const Sha256> map_hashes);

// The bytes signed under `scheme` for a loader whose exclusive maps hold
// `map_values` (fd_array order).
std::vector<std::uint8_t> signed_payload(Scheme scheme, Bytes insns, std::span<const Bytes> map_values);

}  // namespace bpfsign::sign
