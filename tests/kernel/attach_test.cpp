// Attaching and pinning on this machine's kernel: programs attached from
// their section names run on their events and leave their marks in maps;
// pinning is all or nothing. Needs root (bpf(2), mounting tracefs and
// cgroup2 where they are not mounted); skips, saying why, without it.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/pin.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::load {
namespace {

namespace fs = std::filesystem;

struct Loaded {
  object::ObjectModel model;
  loader::LoaderProgram loader;
  LoadedObject object;
};

Loaded load(const std::string& stem) {
  auto model = object::read_object_file(fs::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o"));
  EXPECT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  EXPECT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  EXPECT_TRUE(loaded.ok()) << loaded.error().message;
  return {std::move(model).value(), std::move(loader).value(), std::move(loaded).value()};
}

std::vector<std::uint8_t> map_value(const Loaded& l, const std::string& name, std::uint32_t key) {
  for (std::size_t i = 0; i < l.model.maps.size(); ++i) {
    if (l.model.maps[i].name != name) continue;
    std::vector<std::uint8_t> v(l.model.maps[i].def.value_size);
    auto r = kernel::map_lookup(l.object.maps[i].get(), &key, v.data());
    EXPECT_TRUE(r.ok()) << name;
    return v;
  }
  ADD_FAILURE() << "no map " << name;
  return {};
}

std::uint64_t u64_at(const std::vector<std::uint8_t>& v, std::size_t off) {
  std::uint64_t x = 0;
  if (off + 8 <= v.size()) std::memcpy(&x, v.data() + off, 8);
  return x;
}

// tracefs where the tracepoint ids are; mounted for the test when absent.
bool ensure_tracefs() {
  if (fs::exists("/sys/kernel/tracing/events")) return true;
  return ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 && fs::exists("/sys/kernel/tracing/events");
}

TEST(Attach, TracepointProgramsRunOnTheirEvents) {
  BPFSIGN_REQUIRE_LOADERS();
  if (!ensure_tracefs()) GTEST_SKIP() << "tracefs is not mounted and cannot be mounted: " << std::strerror(errno);
  Loaded l = load("many_progs");
  auto links = attach_programs(l.loader.program_summaries, l.object, AttachOptions{});
  ASSERT_TRUE(links.ok()) << links.error().message;
  for (const auto& a : *links) EXPECT_TRUE(a.attached()) << a.program << ": " << a.how;
  for (int i = 0; i < 3; ++i) ::syscall(SYS_getpid);  // sys_enter, sys_enter_getpid
  for (std::uint32_t k = 0; k < 64; ++k) {
    EXPECT_GT(u64_at(map_value(l, "hits", k), 0), 0u) << "counter_" << k << " never ran";
  }
}

TEST(Attach, XdpAndCgroupProgramsRunOnTraffic) {
  BPFSIGN_REQUIRE_LOADERS();
  const fs::path cg = fs::temp_directory_path() / ("bpfsign-cgroup2-" + std::to_string(getpid()));
  fs::create_directories(cg);
  if (::mount("none", cg.c_str(), "cgroup2", 0, nullptr) != 0) {
    fs::remove(cg);
    GTEST_SKIP() << "cannot mount cgroup2: " << std::strerror(errno);
  }
  {
    Loaded l = load("net_progs");
    AttachOptions options;
    options.iface = "lo";
    options.cgroup = cg.string();
    auto links = attach_programs(l.loader.program_summaries, l.object, options);
    ASSERT_TRUE(links.ok()) << links.error().message;
    int attached = 0;
    for (const auto& a : *links) attached += a.attached();
    EXPECT_EQ(attached, 3) << "xdp, cgroup_skb/egress and cgroup/sock_create";
    // One UDP datagram to ourselves over loopback.
    const int s = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char msg[] = "bpfsign";
    EXPECT_EQ(::sendto(s, msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to), static_cast<ssize_t>(sizeof msg));
    ::close(s);
    const auto bss = map_value(l, ".bss", 0);
    EXPECT_GT(u64_at(bss, 0), 0u) << "xdp_count saw no IPv4 packet on lo";
    EXPECT_GT(u64_at(bss, 24), 0u) << "cgroup_egress saw no egress packet";
  }
  ::umount2(cg.c_str(), MNT_DETACH);
  fs::remove(cg);
}

std::uint32_t u32_at(const std::vector<std::uint8_t>& v, std::size_t off) {
  std::uint32_t x = 0;
  if (off + 4 <= v.size()) std::memcpy(&x, v.data() + off, 4);
  return x;
}

// The offset of a global variable in its section, from the object's BTF.
std::size_t offset_of(const Loaded& l, const std::string& section, const std::string& var) {
  const object::Map* m = l.model.find_map(section);
  if (m == nullptr) return 0;
  for (const auto& v : l.model.btf->datasec_vars(m->def.btf_value_type_id)) {
    if (l.model.btf->name(v.type) == var) return v.offset;
  }
  ADD_FAILURE() << "no variable " << var << " in " << section;
  return 0;
}

// tp_btf + raw_tp (core_reads), tracepoints with a tail call (maps_btf) and
// a raw_tp writing every kind of global data (global_data): each attached
// program runs on its event, and its writes are read back.
TEST(Attach, EveryAttachedCorpusProgramRunsOnItsEvent) {
  BPFSIGN_REQUIRE_LOADERS();
  if (!ensure_tracefs()) GTEST_SKIP() << "tracefs is not mounted and cannot be mounted: " << std::strerror(errno);
  {
    Loaded l = load("core_reads");
    auto links = attach_programs(l.loader.program_summaries, l.object, AttachOptions{});
    ASSERT_TRUE(links.ok()) << links.error().message;
    // on_fork records the last fork system-wide: another process (a
    // parallel test, a build) may fork between ours and the read, so fork
    // again until ours is the one recorded (a few tries at most).
    const std::size_t last = offset_of(l, ".bss", "last");
    std::vector<std::uint8_t> bss;
    for (int attempt = 0; attempt < 50; ++attempt) {
      const pid_t child = ::fork();
      if (child == 0) ::_exit(0);
      ASSERT_GT(child, 0);
      ::waitpid(child, nullptr, 0);
      bss = map_value(l, ".bss", 0);
      if (u32_at(bss, last + 4) == static_cast<std::uint32_t>(getpid())) break;
    }
    EXPECT_EQ(u32_at(bss, last + 4), static_cast<std::uint32_t>(getpid())) << "on_fork: ppid of the forked child";
    EXPECT_EQ(u32_at(bss, last + 12), 16u) << "on_fork: bpf_core_field_size(comm), relocated by the kernel";
  }
  {
    Loaded l = load("maps_btf");
    auto links = attach_programs(l.loader.program_summaries, l.object, AttachOptions{});
    ASSERT_TRUE(links.ok()) << links.error().message;
    for (int i = 0; i < 3; ++i) ::syscall(SYS_getppid);
    EXPECT_GT(u64_at(map_value(l, "counters", 0), 0), 0u) << "count_getppid";
    EXPECT_GT(u64_at(map_value(l, "pinned_total", 0), 0), 0u) << "tail_target";
  }
  {
    Loaded l = load("global_data");
    auto links = attach_programs(l.loader.program_summaries, l.object, AttachOptions{});
    ASSERT_TRUE(links.ok()) << links.error().message;
    for (int i = 0; i < 20; ++i) ::syscall(SYS_getpid);
    EXPECT_GT(u32_at(map_value(l, ".data", 0), offset_of(l, ".data", "hits")), 1u) << "use_globals: .data hits";
    EXPECT_GT(u32_at(map_value(l, ".data.custom", 0), 0), 42u) << "use_globals: .data.custom";
  }
}

TEST(Pin, PinsEverythingOrNothing) {
  BPFSIGN_REQUIRE_LOADERS();
  struct statfs bpffs {};
  if (::statfs("/sys/fs/bpf", &bpffs) != 0 || bpffs.f_type != BPF_FS_MAGIC) {
    GTEST_SKIP() << "needs a BPF file system at /sys/fs/bpf (scripts/setup-debian.sh mounts one)";
  }
  const fs::path dir = fs::path("/sys/fs/bpf") / ("bpfsign-test-" + std::to_string(getpid()));
  Loaded l = load("net_progs");
  {
    auto pinned = pin_object(dir, l.object, {});
    ASSERT_TRUE(pinned.ok()) << pinned.error().message;
    EXPECT_EQ(pinned->size(), 6u);
    EXPECT_TRUE(fs::exists(dir / "maps" / "_bss"));
    EXPECT_TRUE(fs::exists(dir / "progs" / "xdp_count"));
    fs::remove_all(dir);
  }
  // A name already taken stops pinning half-way: nothing stays behind.
  fs::create_directories(dir / "progs" / "tc_count");
  auto pinned = pin_object(dir, l.object, {});
  ASSERT_FALSE(pinned.ok());
  EXPECT_NE(pinned.error().message.find("tc_count"), std::string::npos) << pinned.error().message;
  EXPECT_FALSE(fs::exists(dir / "maps" / "_bss"));
  EXPECT_FALSE(fs::exists(dir / "maps"));
  EXPECT_FALSE(fs::exists(dir / "progs" / "xdp_count"));
  EXPECT_TRUE(fs::exists(dir / "progs" / "tc_count")) << "what was there before stays";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace bpfsign::load
