#include "bpfsign/kernel/keyring.hpp"

#include <keyutils.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace bpfsign::kernel {

namespace {

Error key_error(const std::string& what) {
  const int err = errno;
  return Error{ErrorKind::Kernel, fmt::format("{}: {} (errno {})", what, std::strerror(err), err)};
}

}  // namespace

Result<std::int32_t> resolve_keyring(const std::string& name, bool create) {
  if (name == "@u") return KEY_SPEC_USER_KEYRING;
  if (name == "@s") return KEY_SPEC_SESSION_KEYRING;
  if (name == "@us") return KEY_SPEC_USER_SESSION_KEYRING;
  if (name == "@bpf") return kBpfKeyringSpec;
  std::int32_t serial = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), serial);
  if (ec == std::errc{} && end == name.data() + name.size()) return serial;
  if (name.empty()) return bad_input("empty keyring name");
  const long found = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name.c_str(), 0);
  if (found >= 0) return static_cast<std::int32_t>(found);
  if (!create) return key_error("keyring '" + name + "' under the user keyring");
  const key_serial_t made = add_key("keyring", name.c_str(), nullptr, 0, KEY_SPEC_USER_KEYRING);
  if (made < 0) return key_error("creating keyring '" + name + "'");
  return made;
}

Result<std::int32_t> new_process_keyring(const std::string& description) {
  const key_serial_t k = add_key("keyring", description.c_str(), nullptr, 0, KEY_SPEC_PROCESS_KEYRING);
  if (k < 0) return key_error("creating a process keyring");
  return k;
}

Result<std::int32_t> add_certificate(Bytes der, std::int32_t keyring, const std::string& description) {
  const key_serial_t key = add_key("asymmetric", description.empty() ? nullptr : description.c_str(), der.data(), der.size(), keyring);
  if (key < 0) return key_error(fmt::format("adding the certificate to keyring {}", keyring));
  return key;
}

Status clear_keyring(std::int32_t keyring) {
  if (keyctl_clear(keyring) != 0) return key_error(fmt::format("clearing keyring {}", keyring));
  return Ok{};
}

bool has_bpf_keyring() {
  const key_serial_t k = keyctl_get_keyring_ID(kBpfKeyringSpec, 0);
  return k >= 0;
}

}  // namespace bpfsign::kernel
