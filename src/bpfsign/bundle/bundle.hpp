// The bundle: one file that carries a signed loader for every kernel
// scheme, its metadata and manifest, the signer's identity and the source
// object's digest. Format (versioned, self-describing, little-endian):
// docs/bundle-format.md. The reader is strict: unknown versions and record
// types, truncation, trailing bytes, non-zero padding, duplicate or
// missing records and size fields that overflow are all refused.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/sign/scheme.hpp"

namespace bpfsign::bundle {

inline constexpr std::array<std::uint8_t, 8> kMagic = {'B', 'P', 'F', 'S', 'I', 'G', 'N', 0};
inline constexpr std::uint32_t kVersion = 1;

// Whether `data` begins as a bundle does (the magic only: parse_bundle
// judges the rest). Commands that take an object or a bundle choose by it.
inline bool starts_with_magic(Bytes data) { return data.size() >= kMagic.size() && std::equal(kMagic.begin(), kMagic.end(), data.begin()); }
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::size_t kRecordHeaderSize = 16;

enum class RecordType : std::uint32_t {
  Source = 1,         // SHA-256 of the source object, then its file name
  Metadata = 2,       // the metadata map's value (the blob)
  Manifest = 3,       // loader/manifest.hpp
  Loader = 4,         // u32 variant, u32 0, then the instructions
  Signature = 5,      // u32 scheme, u32 0, then DER PKCS#7
  ChainLinks = 6,     // u32 map count n, u32 0, SHA-256 of insns, n map hashes, T
  Signer = 7,         // u32 key id length, key id, then the DER certificate
};

// A loader record holds one loader::LoaderVariant (the record's u32 variant).
using loader::LoaderVariant;

struct SignatureRecord {
  sign::Scheme scheme = sign::Scheme::LoaderChecked;
  std::vector<std::uint8_t> der;
};

struct ChainLinkRecord {
  Sha256 insns{};
  std::vector<Sha256> maps;
  Sha256 top{};
};

struct Bundle {
  Sha256 source_sha256{};
  std::string source_name;
  std::vector<std::uint8_t> metadata;
  std::vector<std::uint8_t> manifest;
  std::vector<std::uint8_t> loader_plain;
  std::vector<std::uint8_t> loader_checked;  // empty if no loader-checked signature
  std::vector<std::uint8_t> loader_checked_hash_only;  // likewise for loader-checked-hash-only
  // One of the three above by its variant.
  const std::vector<std::uint8_t>& loader(LoaderVariant variant) const;
  std::vector<std::uint8_t>& loader(LoaderVariant variant);
  std::vector<SignatureRecord> signatures;  // at most one per scheme, scheme order
  std::optional<ChainLinkRecord> chain;     // present with a hash-chain signature
  std::vector<std::uint8_t> signer_key_id;
  std::vector<std::uint8_t> signer_certificate;  // DER

  // The loader `scheme` signs (its row's variant); empty if the bundle has none.
  const std::vector<std::uint8_t>& loader_for(sign::Scheme scheme) const { return loader(sign::scheme_info(scheme).loader); }
  const SignatureRecord* signature_for(sign::Scheme scheme) const;
};

// Limits on sizes read from a bundle; beyond them the reader refuses.
inline constexpr std::uint64_t kMaxMetadata = 64ull << 20;
inline constexpr std::uint64_t kMaxLoader = 16ull << 20;
inline constexpr std::uint64_t kMaxRecord = kMaxMetadata;

std::vector<std::uint8_t> serialize_bundle(const Bundle& bundle);
// `what` names the input in errors (a file name).
Result<Bundle> parse_bundle(Bytes data, const std::string& what);

}  // namespace bpfsign::bundle
