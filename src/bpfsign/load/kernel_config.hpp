// The running kernel's configuration, for .kconfig externs: read from where
// libbpf reads it (/boot/config-<release>, then /proc/config.gz; then the
// module directory, where Debian 13 installs it) and encoded as libbpf
// encodes each kconfig type.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

// CONFIG_* name → raw value ("y", "m", "n", "123", "\"text\"").
using KernelConfig = std::map<std::string, std::string>;

Result<KernelConfig> read_kernel_config();
KernelConfig parse_kernel_config(const std::string& text);

// Where each .kconfig value comes from at load time: CONFIG_* names from the
// kernel's configuration (read only when some value needs it, as libbpf
// does), libbpf's built-in LINUX_* names from the running kernel
// (builtin_externs.hpp).
struct KconfigSources {
  std::optional<KernelConfig> config;
  std::uint32_t kernel_version = 0;
  bool has_bpf_cookie = false;
  bool has_syscall_wrapper = false;
};

// The sources the values need, from the running kernel: the configuration
// only for CONFIG_* values (an error if it cannot be read), each built-in
// probed only if asked for.
Result<KconfigSources> running_kconfig_sources(const std::vector<loader::KconfigValue>& values);

// The bytes of the .kconfig map value: `size` bytes, every value at its
// offset. A CONFIG_* value missing from the configuration is an error unless
// its extern is weak (then 0, as libbpf leaves it); an unknown LINUX_* name
// likewise.
Result<std::vector<std::uint8_t>> encode_kconfig(const std::vector<loader::KconfigValue>& values, const KconfigSources& sources,
                                                 std::uint32_t size);

}  // namespace bpfsign::load
