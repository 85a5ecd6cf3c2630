// bpf(2), one wrapper per command (the only place that calls it). Each
// returns the kernel's errno as an Error of kind Kernel, naming the command,
// and keeps the verifier log of a failed load.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/abi/bpf_attr.hpp"

namespace bpfsign::kernel {

// Every wrapper returns Result<T>; a refusal is an Error of kind Kernel
// whose `kernel` holds the command, the errno and, for a load, the
// verifier's reason.
Error kernel_error(KernelFailure failure);

// The verifier's reason in a log: its last line that is not one of the
// statistics lines it appends ("processed N insns ...", ...).
std::string verifier_reason(std::string_view log);

Result<UniqueFd> map_create(const abi::MapCreateAttr& attr);
Result<Ok> map_update(int map_fd, const void* key, const void* value, std::uint64_t flags = 0);
Result<Ok> map_freeze(int map_fd);
Result<Ok> map_lookup(int map_fd, const void* key, void* value);
Result<abi::MapInfo> map_info(int map_fd, std::array<std::uint8_t, abi::kSha256Size>* hash = nullptr);

Result<abi::ProgInfo> prog_info(int prog_fd);
// The kernel id of a BPF link.
Result<std::uint32_t> link_id(int link_fd);
// BPF_ENABLE_STATS (run time and run count of every program) while the
// returned fd stays open.
Result<UniqueFd> enable_run_stats();

Result<Ok> obj_pin(int fd, const std::string& path);
// An fd for the object pinned at `path`; `flags` 0, or abi::kObjGetReadOnly
// for a read-only map fd.
Result<UniqueFd> obj_get(const std::string& path, std::uint32_t flags = 0);
// An fd for the program with kernel id `id` (ENOENT once it is freed).
Result<UniqueFd> prog_get_fd_by_id(std::uint32_t id);
Result<UniqueFd> link_get_fd_by_id(std::uint32_t id);
Result<UniqueFd> link_create(int prog_fd, int target_fd, std::uint32_t attach_type);
Result<UniqueFd> raw_tracepoint_open(int prog_fd, const std::string& name);
// A perf event on tracepoint `id` (tracefs events/<category>/<name>/id), for
// BPF_PERF_EVENT links.
Result<UniqueFd> tracepoint_perf_event(std::uint64_t id);
// A perf event of the kprobe PMU (`pmu_type` from sysfs) on `symbol`+offset;
// a return probe sets bit `retprobe_bit` of config, as sysfs says.
Result<UniqueFd> kprobe_perf_event(std::uint32_t pmu_type, const std::string& symbol, std::uint64_t offset, bool retprobe,
                                         unsigned retprobe_bit);

struct ProgLoadRequest {
  std::uint32_t prog_type = 0;
  std::uint32_t prog_flags = 0;
  std::span<const std::uint8_t> insns;  // raw instruction bytes
  std::string license = "GPL";
  std::string name;
  std::span<const std::uint8_t> signature;
  std::int32_t keyring_id = 0;
  std::span<const int> fd_array;
  bool set_fd_array_cnt = false;
  // Non-zero: the first attempt already keeps a verifier log at this
  // level (e.g. 4, statistics only), which prog_load_logged returns.
  std::uint32_t log_level = 0;
};
Result<UniqueFd> prog_load(const ProgLoadRequest& req);
// The same, with the verifier's log of a successful load at `log_level`.
struct LoggedLoad {
  UniqueFd fd;
  std::string log;
};
Result<LoggedLoad> prog_load_logged(const ProgLoadRequest& req);

struct TestRunResult {
  std::uint32_t retval = 0;
};
Result<TestRunResult> prog_test_run(int prog_fd, std::span<std::uint8_t> ctx);

}  // namespace bpfsign::kernel
