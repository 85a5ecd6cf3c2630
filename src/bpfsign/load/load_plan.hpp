// The second user operation, loading, in two halves:
//
//  - the decision (plan_bundle_load, plan_object_load): from a bundle, what
//    the kernel probe found and the user's trust options, a plan that owns
//    every byte it will hand to the kernel (scheme, loader, metadata,
//    signature, keyring) and says what will be checked and by whom; or a
//    refusal that says why. It makes no system call: tests run it as a
//    table of cases without root or a kernel.
//  - its execution (execute_plan): the metadata map and the loader into
//    the kernel, then the authentication of what the runtime reads from the
//    bundle, then the loader run (load/loader_runtime.hpp).
//
// The rule both halves keep (docs/signing.md#authenticate-before-use):
// nothing read from a bundle steers a memory operation, a file path or a
// system call argument of the runtime before it is authenticated, by the
// kernel having accepted the signature that covers it, by the metadata's
// SHA-256 equalling the hash embedded in a loader the kernel accepted, or by
// bpfsign's offline verification. The bytes handed to the kernel for it to
// verify (loader, signature, metadata map value) are the exception that
// makes the kernel's check possible; the runtime itself uses none of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/load/kernel_probe.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/verify/bundle_verifier.hpp"

namespace bpfsign::load {

// What the user said about trust.
struct TrustOptions {
  // --cert / --ca, read. When either is given, bpfsign's offline
  // verification must pass before anything is loaded, whatever the kernel
  // checks.
  verify::Trust trust;
  // --offline-verified: on a kernel that checks no signature, the offline
  // verification stands in for the kernel's (needs --cert or --ca).
  bool offline_verified = false;
  // --keyring, resolved to a serial: where the kernel finds the signer.
  std::optional<std::int32_t> keyring;
};

// One check the load relies on, and who makes it.
struct PlannedCheck {
  enum class By : std::uint8_t { Kernel, Loader, Bpfsign };
  std::string id;    // stable, for --json: "kernel-signature", "offline-verification", ...
  By by = By::Kernel;
  std::string what;  // for people
};
const char* check_by_name(PlannedCheck::By by);  // "kernel", "loader", "bpfsign"

struct LoadPlan {
  // Empty: an object loaded unsigned through a loader generated here.
  std::optional<sign::Scheme> scheme;
  std::vector<std::uint8_t> loader_code;   // BPF_PROG_LOAD's instructions
  std::vector<std::uint8_t> metadata;      // the metadata map's value
  std::vector<std::uint8_t> signature;     // empty: the load carries none
  std::int32_t keyring_id = 0;             // meaningful with a signature
  // A bundle's manifest, parsed only once the metadata that ends with its
  // digest is authenticated.
  std::vector<std::uint8_t> manifest;
  // An object's loader, generated here from the user's own file.
  std::optional<loader::LoaderProgram> generated;
  // Loader-checked schemes: the metadata hash the loader's instructions
  // check, read from them (loader/metadata_check.hpp).
  std::optional<Sha256> embedded_metadata_hash;
  bool kernel_verifies_signature = false;
  bool offline_verified = false;
  std::string signer;                      // subject of an offline-verified signer, else ""
  std::vector<PlannedCheck> checks;        // in the order they happen
  std::vector<std::string> notes;          // options given that this load does not use, and why

  // One sentence: who checked what ("the kernel verified ...").
  std::string checked_by() const;
};

// `what` names the bundle in refusals (its file name).
Result<LoadPlan> plan_bundle_load(const bundle::Bundle& bundle, const std::string& what, const KernelProbe& kernel,
                                  const TrustOptions& trust);
LoadPlan plan_object_load(loader::LoaderProgram loader);

}  // namespace bpfsign::load
