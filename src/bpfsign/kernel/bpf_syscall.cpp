#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/abi/bpf_attr.hpp"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfsign::kernel {

namespace {

std::uint64_t ptr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

template <typename Attr>
long sys_bpf(abi::BpfCmd cmd, Attr& attr) {
  return ::syscall(__NR_bpf, static_cast<int>(cmd), &attr, sizeof(Attr));
}

// errno is read before anything else can change it (building the message
// allocates).
Error fail(const char* what) {
  const int err = errno;
  return kernel_error({what, err, {}});
}

}  // namespace

Error kernel_error(KernelFailure failure) {
  std::string msg = fmt::format("{}: {} (errno {})", failure.command, std::strerror(failure.err), failure.err);
  if (!failure.verifier_log.empty()) msg += "; verifier: " + failure.verifier_log;
  return Error{ErrorKind::Kernel, std::move(msg), std::move(failure)};
}

Result<UniqueFd> map_create(const abi::MapCreateAttr& attr) {
  abi::MapCreateAttr a = attr;
  long fd = sys_bpf(abi::BpfCmd::MapCreate, a);
  if (fd < 0) return fail("BPF_MAP_CREATE");
  return UniqueFd(static_cast<int>(fd));
}

Result<Ok> map_update(int map_fd, const void* key, const void* value, std::uint64_t flags) {
  abi::MapElemAttr a;
  a.map_fd = static_cast<std::uint32_t>(map_fd);
  a.key = ptr(key);
  a.value = ptr(value);
  a.flags = flags;
  if (sys_bpf(abi::BpfCmd::MapUpdateElem, a) < 0) return fail("BPF_MAP_UPDATE_ELEM");
  return Ok{};
}

std::string verifier_reason(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    const std::size_t start = text.rfind('\n', end - 1);
    const std::size_t from = start == std::string_view::npos ? 0 : start + 1;
    const std::string_view line = text.substr(from, end - from);
    const bool statistics = line.starts_with("processed ") || line.starts_with("verification time") ||
                            line.starts_with("stack depth");
    if (!line.empty() && !statistics) return std::string(line);
    if (start == std::string_view::npos) break;
    end = start;
  }
  return {};
}

Result<Ok> map_lookup(int map_fd, const void* key, void* value) {
  abi::MapElemAttr a;
  a.map_fd = static_cast<std::uint32_t>(map_fd);
  a.key = ptr(key);
  a.value = ptr(value);
  if (sys_bpf(abi::BpfCmd::MapLookupElem, a) < 0) return fail("BPF_MAP_LOOKUP_ELEM");
  return Ok{};
}

Result<Ok> map_freeze(int map_fd) {
  abi::MapElemAttr a;
  a.map_fd = static_cast<std::uint32_t>(map_fd);
  if (sys_bpf(abi::BpfCmd::MapFreeze, a) < 0) return fail("BPF_MAP_FREEZE");
  return Ok{};
}

Result<abi::MapInfo> map_info(int map_fd, std::array<std::uint8_t, abi::kSha256Size>* hash) {
  abi::MapInfo info;
  if (hash != nullptr) {
    info.hash = ptr(hash->data());
    info.hash_size = static_cast<std::uint32_t>(hash->size());
  }
  abi::ObjInfoAttr a;
  a.bpf_fd = static_cast<std::uint32_t>(map_fd);
  a.info_len = sizeof info;
  a.info = ptr(&info);
  if (sys_bpf(abi::BpfCmd::ObjGetInfoByFd, a) < 0) return fail("BPF_OBJ_GET_INFO_BY_FD (map)");
  return info;
}

Result<abi::ProgInfo> prog_info(int prog_fd) {
  abi::ProgInfo info;
  abi::ObjInfoAttr a;
  a.bpf_fd = static_cast<std::uint32_t>(prog_fd);
  a.info_len = sizeof info;
  a.info = ptr(&info);
  if (sys_bpf(abi::BpfCmd::ObjGetInfoByFd, a) < 0) return fail("BPF_OBJ_GET_INFO_BY_FD (program)");
  return info;
}

Result<std::uint32_t> link_id(int link_fd) {
  struct {
    std::uint32_t type = 0;
    std::uint32_t id = 0;
    std::uint32_t prog_id = 0;
    std::uint32_t pad = 0;
  } info;  // the head of struct bpf_link_info: the kernel fills what fits
  abi::ObjInfoAttr a;
  a.bpf_fd = static_cast<std::uint32_t>(link_fd);
  a.info_len = sizeof info;
  a.info = ptr(&info);
  if (sys_bpf(abi::BpfCmd::ObjGetInfoByFd, a) < 0) return fail("BPF_OBJ_GET_INFO_BY_FD (link)");
  return info.id;
}

Result<UniqueFd> enable_run_stats() {
  struct {
    std::uint32_t type = 0;  // BPF_STATS_RUN_TIME
    std::uint32_t pad[15] = {};
  } a;
  const long fd = sys_bpf(abi::BpfCmd::EnableStats, a);
  if (fd < 0) return fail("BPF_ENABLE_STATS");
  return UniqueFd(static_cast<int>(fd));
}

Result<Ok> obj_pin(int fd, const std::string& path) {
  abi::ObjPinAttr a;
  a.pathname = ptr(path.c_str());
  a.bpf_fd = static_cast<std::uint32_t>(fd);
  if (sys_bpf(abi::BpfCmd::ObjPin, a) < 0) return fail("BPF_OBJ_PIN");
  return Ok{};
}

Result<UniqueFd> obj_get(const std::string& path, std::uint32_t flags) {
  abi::ObjPinAttr a;  // BPF_OBJ_GET reads the same fields: pathname, bpf_fd (0), file_flags
  a.pathname = ptr(path.c_str());
  a.file_flags = flags;
  const long fd = sys_bpf(abi::BpfCmd::ObjGet, a);
  if (fd < 0) {
    const int err = errno;
    return kernel_error({"BPF_OBJ_GET " + path, err, {}});
  }
  return UniqueFd(static_cast<int>(fd));
}

namespace {

// BPF_PROG_GET_FD_BY_ID and BPF_LINK_GET_FD_BY_ID share one layout: the id,
// then next_id and open_flags.
Result<UniqueFd> fd_by_id(abi::BpfCmd cmd, const char* name, std::uint32_t id) {
  struct {
    std::uint32_t id = 0;
    std::uint32_t next_id = 0;
    std::uint32_t open_flags = 0;
    std::uint32_t pad = 0;
  } a;
  a.id = id;
  const long fd = sys_bpf(cmd, a);
  if (fd < 0) return fail(name);
  return UniqueFd(static_cast<int>(fd));
}

}  // namespace

Result<UniqueFd> prog_get_fd_by_id(std::uint32_t id) { return fd_by_id(abi::BpfCmd::ProgGetFdById, "BPF_PROG_GET_FD_BY_ID", id); }
Result<UniqueFd> link_get_fd_by_id(std::uint32_t id) { return fd_by_id(abi::BpfCmd::LinkGetFdById, "BPF_LINK_GET_FD_BY_ID", id); }

Result<UniqueFd> link_create(int prog_fd, int target_fd, std::uint32_t attach_type) {
  abi::LinkCreateAttr a;
  a.prog_fd = static_cast<std::uint32_t>(prog_fd);
  a.target_fd = static_cast<std::uint32_t>(target_fd);
  a.attach_type = attach_type;
  const long fd = sys_bpf(abi::BpfCmd::LinkCreate, a);
  if (fd < 0) return fail("BPF_LINK_CREATE");
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> raw_tracepoint_open(int prog_fd, const std::string& name) {
  abi::RawTracepointOpenAttr a;
  a.name = name.empty() ? 0 : ptr(name.c_str());
  a.prog_fd = static_cast<std::uint32_t>(prog_fd);
  const long fd = sys_bpf(abi::BpfCmd::RawTracepointOpen, a);
  if (fd < 0) return fail("BPF_RAW_TRACEPOINT_OPEN");
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> tracepoint_perf_event(std::uint64_t id) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = id;
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  const long fd = ::syscall(__NR_perf_event_open, &attr, -1 /* any pid */, 0 /* cpu */, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return fail("perf_event_open (tracepoint)");
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> kprobe_perf_event(std::uint32_t pmu_type, const std::string& symbol, std::uint64_t offset, bool retprobe,
                                         unsigned retprobe_bit) {
  perf_event_attr attr{};
  attr.type = pmu_type;
  attr.size = sizeof attr;
  attr.config = retprobe ? (1ull << retprobe_bit) : 0;
  attr.config1 = reinterpret_cast<std::uintptr_t>(symbol.c_str());  // kprobe_func
  attr.config2 = offset;                                             // probe_offset
  attr.sample_period = 1;
  attr.wakeup_events = 1;
  const long fd = ::syscall(__NR_perf_event_open, &attr, -1 /* any pid */, 0 /* cpu */, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return fail(retprobe ? "perf_event_open (kretprobe)" : "perf_event_open (kprobe)");
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> prog_load(const ProgLoadRequest& req) {
  auto loaded = prog_load_logged(req);
  if (!loaded) return loaded.error();
  return std::move(loaded->fd);
}

Result<LoggedLoad> prog_load_logged(const ProgLoadRequest& req) {
  // No verifier log on the first attempt: a log that overflows its buffer
  // fails an otherwise good load with ENOSPC. Only a failed load is
  // repeated with a log (16 MiB; the kernel keeps its tail) to say why.
  std::vector<char> log;
  abi::ProgLoadAttr a;
  a.prog_type = req.prog_type;
  a.prog_flags = req.prog_flags;
  a.insn_cnt = static_cast<std::uint32_t>(req.insns.size() / 8);
  a.insns = ptr(req.insns.data());
  a.license = ptr(req.license.c_str());
  std::strncpy(a.prog_name, req.name.c_str(), sizeof a.prog_name - 1);
  if (!req.signature.empty()) {
    a.signature = ptr(req.signature.data());
    a.signature_size = static_cast<std::uint32_t>(req.signature.size());
    a.keyring_id = req.keyring_id;
  }
  if (!req.fd_array.empty()) {
    a.fd_array = ptr(req.fd_array.data());
    if (req.set_fd_array_cnt) a.fd_array_cnt = static_cast<std::uint32_t>(req.fd_array.size());
  }
  if (req.log_level != 0) {
    log.assign(1u << 20, '\0');
    a.log_level = req.log_level;
    a.log_size = static_cast<std::uint32_t>(log.size());
    a.log_buf = ptr(log.data());
  }
  long fd = sys_bpf(abi::BpfCmd::ProgLoad, a);
  if (fd < 0) {
    const int err = errno;
    KernelFailure failure{"BPF_PROG_LOAD", err, {}};
    log.assign(16u << 20, '\0');
    a.log_level = 1;
    a.log_size = static_cast<std::uint32_t>(log.size());
    a.log_buf = ptr(log.data());
    const long again = sys_bpf(abi::BpfCmd::ProgLoad, a);
    if (again >= 0) ::close(static_cast<int>(again));  // a load that fails only once is reported as failed
    log.back() = '\0';
    failure.verifier_log = verifier_reason(log.data());
    return kernel_error(std::move(failure));
  }
  LoggedLoad out{UniqueFd(static_cast<int>(fd)), {}};
  if (!log.empty()) out.log.assign(log.data(), strnlen(log.data(), log.size()));
  return out;
}

Result<TestRunResult> prog_test_run(int prog_fd, std::span<std::uint8_t> ctx) {
  abi::TestRunAttr a;
  a.prog_fd = static_cast<std::uint32_t>(prog_fd);
  a.ctx_in = ptr(ctx.data());
  a.ctx_size_in = static_cast<std::uint32_t>(ctx.size());
  if (sys_bpf(abi::BpfCmd::ProgTestRun, a) < 0) return fail("BPF_PROG_TEST_RUN");
  return TestRunResult{a.retval};
}

}  // namespace bpfsign::kernel
