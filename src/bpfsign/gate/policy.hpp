// The gate's policy (docs/gate.md#policy): a JSON file read with
// nlohmann_json, checked field by field, then resolved on this machine
// (keyring names to serials, the scope's cgroup to its id and level) into
// the record the gate's BPF programs read (gate_abi.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/gate/gate_abi.hpp"
#include "bpfsign/sign/keys.hpp"

namespace bpfsign::gate {

// An admitted signer: the keyring its certificate is in, by name (a keyring
// under the user keyring, as `bpfsign keyring add --keyring NAME` makes) or
// by serial; or a file of certificates that `gate start` puts into a
// keyring by name (default "bpfsign-gate"), which then holds exactly the
// certificates of the policy's certificate signers that name it (start
// clears it first: a certificate dropped from the policy is no longer
// admitted). The kernel tells the LSM the keyring a signature was checked
// against, not the certificate: one keyring per trusted signer.
struct Signer {
  std::string keyring;
  std::optional<std::int32_t> serial;
  std::string certificate;  // a file (PEM with one or more, or DER); "" for keyring signers
};

inline constexpr const char* kDefaultSignerKeyring = "bpfsign-gate";

struct Policy {
  Mode mode = Mode::Enforce;
  std::vector<Signer> signers;
  std::vector<std::uint32_t> program_types;  // empty: every type
  std::vector<std::uint32_t> map_types;      // empty: every type
  std::string scope_cgroup;                  // "": every task
  bool admit_unsigned = false;               // loads with no signature at all
};

// Strict: unknown keys, an unknown mode, type or `unsigned_loads` value, an
// empty signer list in enforce mode, more than 16 signers, a scope that is
// not an absolute path are refused, naming the field.
Result<Policy> parse_policy(Bytes json, const std::string& what);
Result<Policy> read_policy(const std::string& path);

// A list of types as the record's bit mask: bit t set for type t; every
// bit for an empty list (no restriction).
std::uint64_t mask_of(const std::vector<std::uint32_t>& types);

// The certificates of a certificate signer, read from its file (none for
// a keyring signer).
Result<std::vector<sign::Certificate>> signer_certificates(const Signer& signer);

// The record the gate reads, with names resolved on this machine. Fills
// the keyrings of certificate signers (created when missing, cleared when
// not) with exactly their certificates: call it only to start the gate.
Result<GateConfig> resolve_policy(const Policy& policy);

}  // namespace bpfsign::gate
