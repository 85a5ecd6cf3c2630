// The machine's possible CPUs, counted as libbpf counts them for sizing a
// perf event array declared without max_entries: the CPUs listed in
// /sys/devices/system/cpu/possible ("0-3", "0,2-5").
#pragma once

#include <cstdint>
#include <string_view>

#include "bpfsign/common/error.hpp"

namespace bpfsign::load {

// The number of CPUs a kernel CPU list names; an error naming the list if it
// is not one ("a" or "a-b" with a <= b, comma-separated).
Result<std::uint32_t> count_cpu_list(std::string_view list);

// The running machine's possible CPUs (read once per process).
Result<std::uint32_t> possible_cpus();

}  // namespace bpfsign::load
