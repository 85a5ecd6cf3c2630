// Kernel keyrings through libkeyutils: where the certificates that check
// BPF signatures live. A signed load names a keyring by serial
// (bpf_attr.keyring_id); 0, 1 and 2 mean the builtin, builtin+secondary
// and platform keyrings (docs/kernels.md).
#pragma once

#include <cstdint>
#include <string>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"

namespace bpfsign::kernel {

// The serial of a keyring named on the command line: "@u" (user), "@s"
// (session), "@us" (user session), "@bpf" (the dedicated BPF keyring, where
// the kernel has one), a decimal serial, or the description of a keyring
// under the user keyring (created if `create` and missing).
Result<std::int32_t> resolve_keyring(const std::string& name, bool create);

// A new keyring attached to this process's keyring: gone when it exits.
Result<std::int32_t> new_process_keyring(const std::string& description);

// Adds a DER X.509 certificate as an "asymmetric" key; returns its serial.
Result<std::int32_t> add_certificate(Bytes der, std::int32_t keyring, const std::string& description);

// Unlinks every key from a keyring.
Status clear_keyring(std::int32_t keyring);

// Whether the kernel has the dedicated BPF keyring announced upstream
// (KEY_SPEC_BPF_KEYRING = -9); Debian's 7.3.4 does not.
bool has_bpf_keyring();
inline constexpr std::int32_t kBpfKeyringSpec = -9;

}  // namespace bpfsign::kernel
