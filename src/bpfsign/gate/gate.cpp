#include "bpfsign/gate/gate.hpp"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/common/admin_path.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/pin.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::gate {

namespace {

namespace fs = std::filesystem;

fs::path config_pin(const fs::path& dir) { return dir / "maps" / "gate_config"; }
fs::path log_pin(const fs::path& dir) { return dir / "maps" / "gate_log"; }

Result<GateConfig> read_config(const fs::path& dir) {
  auto fd = kernel::obj_get(config_pin(dir), abi::kObjGetReadOnly);
  if (!fd) return fd.error();
  GateConfig c;
  const std::uint32_t key = 0;
  auto got = kernel::map_lookup(fd.value().get(), &key, &c);
  if (!got) return got.error();
  return c;
}

// The policy part of two records (not the gate's own ids, which each start fills).
bool same_policy(const GateConfig& a, const GateConfig& b) { return std::memcmp(&a, &b, offsetof(GateConfig, own_prog_ids)) == 0; }

// Whether the kernel still has an object the gate recorded: EPERM (the
// enforcing gate refuses the fd) or an fd mean it is there; ENOENT that it
// is gone.
template <typename GetFd>
bool still_there(GetFd get_fd, std::uint32_t id) {
  auto fd = get_fd(id);
  const auto* e = fd.kernel_failure();
  return e == nullptr || e->err != ENOENT;
}

// What is missing of a pinned gate: "" when every program and link it
// recorded at start is still in the kernel. A gate whose link pins were
// removed is detached although its policy map is still pinned.
std::string missing_part(const GateConfig& c) {
  std::size_t programs = 0;
  for (std::uint32_t i = 0; i < kMaxOwn; ++i) {
    if (c.own_prog_ids[i] != 0) ++programs;
    if (c.own_prog_ids[i] != 0 && !still_there(kernel::prog_get_fd_by_id, c.own_prog_ids[i])) {
      return fmt::format("its program id {} is gone", c.own_prog_ids[i]);
    }
    if (c.own_link_ids[i] != 0 && !still_there(kernel::link_get_fd_by_id, c.own_link_ids[i])) {
      return fmt::format("its link id {} is gone (detached)", c.own_link_ids[i]);
    }
  }
  if (programs == 0) return "its policy record names none of its programs";
  return {};
}

// The pin directory is made here, owner only, before anything is loaded:
// whoever could write it could unpin (and so detach) the gate. One that
// exists already is refused unless it holds a gate pinned by an earlier
// start, in directories only their owner, root or this user, can write.
Status check_pin_dir(const fs::path& pin_dir) {
  for (const fs::path& d : {pin_dir, pin_dir / "maps", pin_dir / "progs", pin_dir / "links"}) {
    if (auto ok = check_admin_path(d, AdminPathKind::Directory); !ok) {
      return refusal("{}: not trusted as the gate's pin directory ({}); stop the gate (bpfsign gate stop) and start it again", pin_dir.string(),
                     ok.error().message);
    }
  }
  return Ok{};
}

}  // namespace

Result<StartResult> start_gate(const GateConfig& config, const fs::path& pin_dir) {
  if (config.mode == Mode::Off || config.keyrings > kMaxKeyrings) return usage_error("gate: a policy of mode off or with more than {} keyrings", kMaxKeyrings);
  StartResult out;
  if (fs::exists(config_pin(pin_dir))) {
    if (auto ok = check_pin_dir(pin_dir); !ok) return ok.error();
    auto running = read_config(pin_dir);
    if (!running) return running.error().with_context(pin_dir.string());
    if (!same_policy(*running, config)) {
      return refusal("{}: a gate with another policy is running; stop it first (bpfsign gate stop)", pin_dir.string());
    }
    if (const std::string missing = missing_part(*running); !missing.empty()) {
      return refusal("{}: the gate's pins are there but {}: it is not running whole; stop it (bpfsign gate stop) and start it again",
                     pin_dir.string(), missing);
    }
    out.already_running = true;
    return out;
  }
  if (!load::on_bpf_fs(pin_dir.parent_path())) {
    return io_error("{}: not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)", pin_dir.parent_path().string());
  }
  if (::mkdir(pin_dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return refusal("{}: exists and holds no gate; remove it or choose another --pin-dir", pin_dir.string());
    return io_error("{}: cannot create: {}", pin_dir.string(), std::strerror(errno));
  }
  // Removed again unless everything below succeeds.
  struct RemoveUnlessKept {
    const fs::path& dir;
    bool keep = false;
    ~RemoveUnlessKept() {
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    }
  } made{pin_dir};
  // The gate's object, through the same loader generator and runtime as
  // any other object.
  const Bytes bytes = gate_object();
  auto elf = object::ElfFile::parse(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "bpfsign gate");
  if (!elf) return elf.error();
  auto model = object::read_object(*elf);
  if (!model) return model.error();
  auto generated = loader::generate_loader(*model);
  if (!generated) return generated.error();
  auto loaded = load::execute_plan(load::plan_object_load(std::move(generated).value()));
  if (!loaded) return loaded.error().with_context("loading the gate");
  // The policy goes in before any program is attached: the gate never runs
  // half-configured. Its own programs' ids with it; its links' once they
  // exist (written through the fd held since the load: the gate refuses
  // new writable fds to its policy, not this one).
  std::size_t config_map = loaded->loader.maps.size();
  for (std::size_t i = 0; i < loaded->loader.maps.size(); ++i) {
    if (loaded->loader.maps[i] == "gate_config") config_map = i;
  }
  if (config_map == loaded->loader.maps.size()) internal_error("the gate object has no gate_config map");
  if (loaded->object.programs.size() > kMaxOwn) internal_error("the gate has more programs than its policy record lists");
  GateConfig written_config = config;
  for (std::size_t i = 0; i < loaded->object.programs.size(); ++i) {
    auto info = kernel::prog_info(loaded->object.programs[i].get());
    if (!info) return info.error();
    written_config.own_prog_ids[i] = info.value().id;
  }
  const std::uint32_t key = 0;
  const int config_fd = loaded->object.maps[config_map].get();
  auto written = kernel::map_update(config_fd, &key, &written_config);
  if (!written) return written.error().with_context("writing the gate's policy");
  auto attached = load::attach_programs(loaded->loader.program_summaries, loaded->object, {});
  if (!attached) return attached.error().with_context("attaching the gate");
  for (std::size_t i = 0; i < attached->size(); ++i) {
    const auto& a = (*attached)[i];
    if (!a.attached()) return Error{ErrorKind::Kernel, fmt::format("gate program '{}' was not attached: {}; nothing was started", a.program, a.how)};
    out.attached.push_back(a.how);
    auto id = kernel::link_id(a.link.get());
    if (!id) return id.error();
    written_config.own_link_ids[i] = id.value();
  }
  written = kernel::map_update(config_fd, &key, &written_config);
  if (!written) return written.error().with_context("writing the gate's own ids");
  // From here on no one writes the policy through bpf(2), not even with an
  // fd taken before the gate was attached (programs cannot: the map is
  // read-only to them).
  auto frozen = kernel::map_freeze(config_fd);
  if (!frozen) return frozen.error().with_context("freezing the gate's policy");
  auto pinned = load::pin_object(pin_dir, loaded->object, *attached);
  if (!pinned) return pinned.error().with_context("pinning the gate");
  made.keep = true;
  return out;
}

Result<GateStatus> gate_status(const fs::path& pin_dir) {
  GateStatus s;
  if (!fs::exists(config_pin(pin_dir))) return s;
  auto config = read_config(pin_dir);
  if (!config) return config.error().with_context(pin_dir.string());
  s.running = true;
  s.config = *config;
  s.missing = missing_part(*config);
  if (auto ok = check_pin_dir(pin_dir); !ok) s.untrusted_pins = ok.error().message;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(pin_dir, ec)) {
    if (!e.is_directory()) s.pinned.push_back(fs::relative(e.path(), pin_dir).string());
  }
  std::sort(s.pinned.begin(), s.pinned.end());
  return s;
}

Status stop_gate(const fs::path& pin_dir) {
  if (!fs::exists(pin_dir)) return Ok{};
  if (!fs::exists(config_pin(pin_dir))) return refusal("{}: not a gate's pin directory (no maps/gate_config); left alone", pin_dir.string());
  // The programs' ids (from the policy record: the gate gives no fd for
  // its programs while it enforces), to wait for them to go: the kernel
  // releases links and programs after their last reference, in deferred
  // work, so the gate can still decide for a moment after its pins go.
  auto config = read_config(pin_dir);
  if (!config) return config.error().with_context(pin_dir.string());
  std::vector<std::uint32_t> ids;
  for (auto id : config->own_prog_ids) {
    if (id != 0) ids.push_back(id);
  }
  std::error_code ec;
  fs::remove_all(pin_dir, ec);
  if (ec) return io_error("{}: {}", pin_dir.string(), ec.message());
  for (int waited_ms = 0; waited_ms < 5000; waited_ms += 10) {
    // ENOENT once freed (EPERM while the gate still refuses its own fds).
    const bool gone = std::none_of(ids.begin(), ids.end(), [](std::uint32_t id) { return still_there(kernel::prog_get_fd_by_id, id); });
    if (gone) return Ok{};
    ::usleep(10000);
  }
  return Error{ErrorKind::Kernel, fmt::format("{}: unpinned, but the gate's programs are still loaded after 5 s: something else holds them", pin_dir.string())};
}

namespace {

// A mapping of the ring buffer, unmapped on scope exit.
struct Mapping {
  void* base = MAP_FAILED;
  std::size_t length = 0;
  ~Mapping() {
    if (base != MAP_FAILED) ::munmap(base, length);
  }
};

constexpr std::uint32_t kBusy = 1u << 31;
constexpr std::uint32_t kDiscard = 1u << 30;
constexpr std::uint32_t kHeader = 8;

}  // namespace

Status read_log(const fs::path& pin_dir, bool follow, const std::function<void(const GateEvent&)>& each,
                const std::function<bool()>& keep_going) {
  auto fd_or = kernel::obj_get(log_pin(pin_dir));
  if (!fd_or) return fd_or.error().with_context("the gate's log (is the gate running?)");
  const UniqueFd fd = std::move(fd_or).value();
  auto info = kernel::map_info(fd.get());
  if (!info) return info.error();
  const std::uint64_t size = info.value().max_entries;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  if (size == 0 || (size & (size - 1)) != 0 || size > (1u << 30)) return bad_input("the gate's log: a ring buffer of {} bytes", size);
  // The consumer position (written by us), then the producer position and
  // the data, which the kernel maps twice in a row so that no record wraps.
  Mapping consumer{::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0), page};
  if (consumer.base == MAP_FAILED) return io_error("mapping the gate's log: {}", std::strerror(errno));
  Mapping producer{::mmap(nullptr, page + 2 * size, PROT_READ, MAP_SHARED, fd.get(), static_cast<off_t>(page)), page + 2 * size};
  if (producer.base == MAP_FAILED) return io_error("mapping the gate's log: {}", std::strerror(errno));
  auto* consumer_pos = static_cast<std::uint64_t*>(consumer.base);
  const auto* producer_pos = static_cast<const std::uint64_t*>(producer.base);
  const auto* data = static_cast<const std::uint8_t*>(producer.base) + page;

  UniqueFd poll(::epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN;
  if (!poll || ::epoll_ctl(poll.get(), EPOLL_CTL_ADD, fd.get(), &ev) != 0) return io_error("polling the gate's log: {}", std::strerror(errno));
  // Anyone with the log's fd can move its reader position: past the
  // records (the kernel then stops logging), unaligned, or into a record.
  // This reader takes the position once, checks every header (the gate
  // writes records of one size only), and keeps its own position from
  // then on, writing it back where someone moved it. A position that is
  // not at a record is reset to the end, and said: what lay between is lost
  // (the records' numbers show how much).
  auto reset = [&](std::uint64_t to, std::string why) -> Status {
    __atomic_store_n(consumer_pos, to, __ATOMIC_RELEASE);
    return bad_input("the gate's log: {}; its reader position was reset to the end, and what lay between is lost", why);
  };
  std::uint64_t cons = __atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE);
  while (true) {
    const std::uint64_t prod = __atomic_load_n(producer_pos, __ATOMIC_ACQUIRE);
    if (cons > prod || cons % 8 != 0) return reset(prod, fmt::format("its reader position had been moved (to {}, records end at {})", cons, prod));
    if (__atomic_load_n(consumer_pos, __ATOMIC_ACQUIRE) != cons) __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
    int busy_polls = 0;
    while (cons < prod) {
      const std::uint64_t at = cons & (size - 1);
      // The kernel clears the busy bit with a release store once the record is written.
      const std::uint32_t header = __atomic_load_n(reinterpret_cast<const std::uint32_t*>(data + at), __ATOMIC_ACQUIRE);
      if (header & kBusy) {
        // A record being written is done within microseconds; a header
        // that stays busy for a tenth of a second is no record.
        if (++busy_polls > 100) return reset(prod, fmt::format("no record at position {} (a header that stays busy)", cons));
        ::usleep(1000);
        continue;
      }
      busy_polls = 0;
      const std::uint32_t length = header & ~(kBusy | kDiscard);
      if (length != sizeof(GateEvent)) return reset(prod, fmt::format("no record at position {} (a length of {} bytes)", cons, length));
      if (!(header & kDiscard)) {
        GateEvent e;
        std::memcpy(&e, data + at + kHeader, sizeof e);
        each(e);
      }
      cons += (length + kHeader + 7) & ~std::uint64_t{7};
      __atomic_store_n(consumer_pos, cons, __ATOMIC_RELEASE);
    }
    if (!follow || !keep_going()) return Ok{};
    epoll_event got{};
    (void)::epoll_wait(poll.get(), &got, 1, 1000);
  }
}

}  // namespace bpfsign::gate
