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

// Which loader a scheme signs, named after the scheme that signs it (one
// name per concept, sign/scheme.hpp): the plain loader, or the plain loader
// behind the metadata check, which compares the metadata map's hash and
// checks it is exclusive (loader-checked) or compares the hash only
// (loader-checked-hash-only: kernels whose struct bpf_map has no `excl`).
// The values are the bundle's loader-record variants (docs/bundle-format.md).
enum class LoaderVariant : std::uint32_t { Plain = 1, LoaderChecked = 2, LoaderCheckedHashOnly = 3 };
inline constexpr LoaderVariant kLoaderVariants[] = {LoaderVariant::Plain, LoaderVariant::LoaderChecked, LoaderVariant::LoaderCheckedHashOnly};
// "plain", "loader-checked", "loader-checked-hash-only".
const char* variant_name(LoaderVariant variant);

// ContextHeader::failed_step when the check refused the metadata.
inline constexpr std::uint32_t kStepMetadataCheck = 0xffffffffu;
// Errors the check reports: the metadata is not what was signed, or the
// map could be shared with another program.
inline constexpr std::int32_t kErrMetadataMismatch = -129;  // -EKEYREJECTED, as 7.3's kernel reports it
inline constexpr std::int32_t kErrMetadataNotExclusive = -1;  // -EPERM, likewise

// The check `variant`'s loader begins with (none for Plain); it leaves r1
// (the context) untouched. Metadata is the map at fd_array index 0.
std::vector<isa::Instruction> metadata_check(const Sha256& expected_map_hash, LoaderVariant variant);

// The metadata hash that the encoded loader `code` checks, if `code` begins
// with exactly the check metadata_check(hash, variant) emits; empty
// otherwise (and always for Plain). The runtime uses it on loader-checked
// kernels: once the kernel has accepted `code`'s signature, metadata whose
// SHA-256 equals this value is the metadata the signer signed.
std::optional<Sha256> embedded_metadata_hash(Bytes code, LoaderVariant variant);
// The check's length in bytes of encoded instructions (the same for every hash).
std::size_t metadata_check_bytes(LoaderVariant variant);

// `loader` encoded as `variant`: the check for its own blob's hash, then
// the loader's instructions unchanged (its jumps are relative).
std::vector<std::uint8_t> encode_loader(const LoaderProgram& loader, LoaderVariant variant);

}  // namespace bpfsign::loader
