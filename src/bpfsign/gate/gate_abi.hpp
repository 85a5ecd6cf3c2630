// What the gate's BPF programs (gate.bpf.c) and user space share: the
// policy record in the `gate_config` map and the decision records of the
// `gate_log` ring buffer. Layouts are checked against the object's own BTF
// by a test (tests/unit/gate_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "bpfsign/common/byte_reader.hpp"

namespace bpfsign::gate {

inline constexpr std::uint32_t kMaxKeyrings = 16;
inline constexpr std::uint32_t kMaxOwn = 8;  // the gate's own programs and links

enum class Mode : std::uint32_t { Off = 0, Audit = 1, Enforce = 2 };

struct GateConfig {
  Mode mode = Mode::Off;
  std::uint32_t admit_unsigned = 0;
  std::uint64_t prog_types = ~std::uint64_t{0};  // bit t: program type t may be loaded
  std::uint64_t map_types = ~std::uint64_t{0};   // bit t: a loader may create maps of type t
  std::uint64_t scope_cgroup_id = 0;             // 0: every task
  std::uint32_t scope_level = 0;
  std::uint32_t keyrings = 0;
  std::int32_t keyring_serial[kMaxKeyrings] = {};
  // Filled by start_gate: the gate's programs and links, which no task may
  // get an fd for while it enforces.
  std::uint32_t own_prog_ids[kMaxOwn] = {};
  std::uint32_t own_link_ids[kMaxOwn] = {};
};
static_assert(sizeof(GateConfig) == 168);
static_assert(offsetof(GateConfig, keyring_serial) == 40);

enum class Kind : std::uint32_t { Program = 1, Map = 2, Btf = 3, Self = 4 };
enum class Decision : std::uint8_t { Admitted = 0, Refused = 1, WouldRefuse = 2 };
enum class Rule : std::uint8_t {
  None = 0,
  Signed = 1,               // verdict VERIFIED, keyring admitted
  SignedNoVerdict = 2,      // a kernel without the verdict: a signature given, its keyring admitted
  KeyringNotAdmitted = 3,
  Unsigned = 4,
  UnsignedAdmitted = 5,
  InnerAdmitted = 6,        // created by an admitted loader while it runs
  InnerNoLoader = 7,        // through bpf_sys_bpf with no admitted loader running
  TypeNotAdmitted = 8,
  Self = 9,                 // the gate's own maps
  LoadersFull = 10,         // a loader the gate cannot track (16384 loaded at once): refused
};
inline constexpr std::uint8_t kVerdictNone = 0xff;  // the kernel has no verdict field
inline constexpr std::uint8_t kVerdictVerified = 1;

struct GateEvent {
  std::uint64_t time_ns = 0;  // CLOCK_MONOTONIC
  std::uint64_t cgroup_id = 0;
  std::uint32_t tgid = 0;
  std::uint32_t pid = 0;
  Kind kind = Kind::Program;
  std::uint32_t type = 0;
  std::int32_t keyring_serial = 0;
  std::uint8_t verdict = 0;
  std::uint8_t keyring_type = 0;
  Decision decision = Decision::Admitted;
  Rule rule = Rule::None;
  std::uint8_t inner = 0;
  std::uint8_t signature_given = 0;
  std::uint8_t pad[2] = {};
  char name[16] = {};
  char comm[16] = {};
  std::uint64_t seq = 0;  // one per record, from 0: a gap is a lost record
};
static_assert(sizeof(GateEvent) == 88);
static_assert(offsetof(GateEvent, name) == 44);

const char* mode_name(Mode mode);
const char* kind_name(Kind kind);
const char* decision_name(Decision decision);
const char* rule_name(Rule rule);  // "signed", "inner-no-loader", ...

// The gate's BPF object, built from gate.bpf.c and embedded in the library.
Bytes gate_object();

}  // namespace bpfsign::gate
