// The loader's manifest: what the runtime must know to use a loader it did
// not generate (the context layout, the names of the steps, maps and
// programs, how each program attaches, the .kconfig values to supply).
// Serialised into a bundle; its SHA-256 ends the metadata blob, so every
// signature scheme that covers the metadata covers the manifest too.
// Format: docs/bundle-format.md#manifest.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::loader {

inline constexpr std::uint32_t kManifestMagic = 0x4d465042;  // "BPFM"
inline constexpr std::uint32_t kManifestVersion = 2;  // 2: runtime settings
inline constexpr std::size_t kManifestDigestSize = 32;  // the blob's last bytes

std::vector<std::uint8_t> serialize_manifest(const LoaderProgram& loader);

// Whether `metadata` ends with the SHA-256 of `manifest`: the one link that
// puts the manifest under every signature that covers the metadata.
bool manifest_digest_matches(Bytes metadata, Bytes manifest);

// Reads a manifest into `loader` (everything but insns, code and blob).
// Strict: unknown versions, enum values out of range, names longer than
// 4096 bytes, counts that cannot fit the input and trailing bytes are refused.
Status parse_manifest(Bytes data, LoaderProgram& loader);

}  // namespace bpfsign::loader
