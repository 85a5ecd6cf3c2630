// The running kernel's configuration, for .kconfig externs: read from
// /proc/config.gz (or /boot/config-<release>) and encoded as libbpf encodes
// each kconfig type.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

// CONFIG_* name → raw value ("y", "m", "n", "123", "\"text\"").
using KernelConfig = std::map<std::string, std::string>;

Result<KernelConfig> read_kernel_config();
KernelConfig parse_kernel_config(const std::string& text);

// The bytes of the .kconfig map value: `size` bytes, every value at its
// offset. LINUX_KERNEL_VERSION comes from `release` (uname -r). A value
// missing from the configuration is an error unless its extern is weak.
Result<std::vector<std::uint8_t>> encode_kconfig(const std::vector<loader::KconfigValue>& values, const KernelConfig& config,
                                                 const std::string& release, std::uint32_t size);

}  // namespace bpfsign::load
