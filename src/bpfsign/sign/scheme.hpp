// What a signature covers, per kernel scheme (docs/kernels.md):
//   loader-checked (6.18-7.2): the loader's instructions, which embed the
//     metadata's hash and check it themselves (loader/metadata_check.hpp);
//   kernel-chained (7.3+): the instructions followed by the value of each
//     exclusive, frozen map in fd_array order; fd_array_cnt set;
//   hash chain (the seed patchset): the 32 bytes
//     T = SHA-256(SHA-256(insns) ‖ h(0)), h(last) = H(map_last),
//     h(k) = SHA-256(h(k+1) ‖ H(map_k)), H = SHA-256 of a map's value area.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/loader/metadata_check.hpp"

namespace bpfsign::sign {

enum class Scheme : std::uint32_t { LoaderChecked = 1, KernelChained = 2, HashChain = 3, LoaderCheckedHashOnly = 4 };

// What a scheme's signature is computed over (signed_payload).
enum class SignedContent : std::uint8_t {
  Instructions,              // the loader's instructions alone
  InstructionsThenMaps,      // the instructions, then each exclusive map's value area, fd_array order
  ChainTop,                  // the hash chain's top T (the instructions alone when there is no map)
};

// Everything bpfsign knows about a scheme, in one row: signing, bundling,
// loading, probing, verifying and reporting all read it from here. Adding
// a scheme is a row here, plus its case in signed_payload if its content
// is new.
struct SchemeInfo {
  Scheme scheme;
  const char* name;               // on the command line, in reports and JSON
  loader::LoaderVariant loader;   // the loader it signs
  SignedContent content;
  bool sets_fd_array_cnt;         // loads pass fd_array_cnt, so the kernel hashes the maps too
  std::uint8_t try_rank;          // the order runtimes, probes and skeletons try it in (1 first, most covered); 0: no kernel verifies it
  const char* covers;             // what a kernel that checks it has proved, for reports
  const char* metadata_hash_check;  // verify's stable check id for the hash its loader embeds (none: nullptr)
};

// The rows, in the order the bundle stores signatures (by scheme id).
inline constexpr SchemeInfo kSchemes[] = {
    {Scheme::LoaderChecked, "loader-checked", loader::LoaderVariant::LoaderChecked, SignedContent::Instructions, false, 2,
     "the loader's instructions, which embed the metadata's hash and check that the map is exclusive", "loader_metadata_hash"},
    {Scheme::KernelChained, "kernel-chained", loader::LoaderVariant::Plain, SignedContent::InstructionsThenMaps, true, 1,
     "the loader's instructions and its frozen, exclusive metadata map", nullptr},
    {Scheme::HashChain, "hash-chain", loader::LoaderVariant::Plain, SignedContent::ChainTop, false, 0,
     "the chain T over the instructions and the metadata", nullptr},
    {Scheme::LoaderCheckedHashOnly, "loader-checked-hash-only", loader::LoaderVariant::LoaderCheckedHashOnly, SignedContent::Instructions,
     false, 3, "the loader's instructions, which embed the metadata's hash", "loader_hash_only_metadata_hash"},
};
// Every scheme, for defaults (sign with all of them).
inline constexpr auto kAllSchemes = [] {
  std::array<Scheme, std::size(kSchemes)> all{};
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = kSchemes[i].scheme;
  return all;
}();

const SchemeInfo& scheme_info(Scheme scheme);
// Whether some released kernel checks `scheme`.
inline bool kernel_verifies(Scheme scheme) { return scheme_info(scheme).try_rank != 0; }
// The schemes a kernel verifies, in try order: the kernel probe, the C
// skeleton and the choice of loader take them in this order.
std::vector<Scheme> schemes_in_try_order();
inline const char* scheme_name(Scheme scheme) { return scheme_info(scheme).name; }
// Whether the signature covers the instructions only, the loader checking the metadata itself.
inline bool loader_checks_metadata(Scheme scheme) { return scheme_info(scheme).loader != loader::LoaderVariant::Plain; }
Result<Scheme> parse_scheme(std::uint32_t raw);
// A scheme by its name; an unknown name is a usage error listing the names.
Result<Scheme> scheme_from_name(std::string_view name);
// Every scheme's name, joined by `separator` (for help texts and completion).
std::string scheme_names(std::string_view separator);

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
