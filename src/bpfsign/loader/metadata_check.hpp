// The loader-checked scheme (kernels 6.18-7.2, docs/kernels.md): the kernel
// verifies the loader's instructions only, so the loader's first act is to
// check that its metadata map is exclusive and that the map's SHA-256 (which
// the kernel computed when user space asked for the frozen map's info)
// equals the value embedded in these signed instructions. docs/loader.md
// #metadata-check shows the sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/isa/instruction.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::loader {

// The check reads the map's hash and exclusivity inside the kernel's struct
// bpf_map, at the offsets in abi/bpf_map_layout.hpp. The runtime reads the
// running kernel's BTF and picks the loader whose check fits it
// (loader-checked, or loader-checked-hash-only).

// ContextHeader::failed_step when the check refused the metadata.
inline constexpr std::uint32_t kStepMetadataCheck = 0xffffffffu;
// Errors the check reports: the metadata is not what was signed, or the
// map could be shared with another program.
inline constexpr std::int32_t kErrMetadataMismatch = -129;  // -EKEYREJECTED, as 7.3's kernel reports it
inline constexpr std::int32_t kErrMetadataNotExclusive = -1;  // -EPERM, likewise

// The check's instructions; they go before the loader's own and leave
// r1 (the context) untouched. Metadata is the map at fd_array index 0.
// With `check_exclusive` false (kernels whose struct bpf_map has no `excl`,
// 6.19 and 7.0) only the hash is compared.
std::vector<isa::Instruction> metadata_check(const Sha256& expected_map_hash, bool check_exclusive = true);

// The metadata hash that the encoded loader `code` checks, if `code` begins
// with exactly the check metadata_check(hash, check_exclusive) emits; empty
// otherwise. The runtime uses it on loader-checked kernels: once the kernel
// has accepted `code`'s signature, metadata whose SHA-256 equals this value
// is the metadata the signer signed.
std::optional<Sha256> embedded_metadata_hash(Bytes code, bool check_exclusive);
// The check's length in bytes of encoded instructions (the same for every hash).
std::size_t metadata_check_bytes(bool check_exclusive);

// SHA-256 the kernel computes for a one-element array map holding `blob`:
// over round_up(value_size, 8) bytes, padding included.
Sha256 metadata_map_hash(const std::vector<std::uint8_t>& blob);

// The loader-checked variant of `loader`: the check for its own blob's
// hash, then the loader's instructions unchanged (its jumps are relative).
std::vector<isa::Instruction> with_metadata_check(const LoaderProgram& loader, bool check_exclusive = true);

}  // namespace bpfsign::loader
