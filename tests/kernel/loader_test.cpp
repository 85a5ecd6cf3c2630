// Generated loaders on this machine's kernel: each corpus object the
// generator supports today loads through its loader, every program and map
// comes back as an fd of the right kind, and a load that fails at any step
// leaves no fd behind. Needs root (bpf(2)); skips, saying why, without it.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

#include <dirent.h>
#include <unistd.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/load/builtin_externs.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/possible_cpus.hpp"
#include "bpfsign/loader/context_layout.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::load {
namespace {

std::filesystem::path corpus(const std::string& stem) { return std::filesystem::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o"); }
std::filesystem::path scale(const std::string& stem) { return std::filesystem::path(BPFSIGN_SCALE_DIR) / (stem + ".bpf.o"); }

void expect_loads(const std::filesystem::path& path) {
  SCOPED_TRACE(path.filename().string());
  auto model = object::read_object_file(path);
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->programs.size(), model->programs.size());
  ASSERT_EQ(loaded->maps.size(), model->maps.size());
  for (std::size_t i = 0; i < model->programs.size(); ++i) {
    const auto& p = model->programs[i];
    auto info = kernel::prog_info(loaded->programs[i].get());
    ASSERT_TRUE(info.ok()) << p.name;
    const auto& pi = info.value();
    EXPECT_EQ(pi.type, p.kind.prog_type) << p.name;
    EXPECT_EQ(std::string(pi.name), p.name.substr(0, 15)) << p.name;
  }
  for (std::size_t i = 0; i < model->maps.size(); ++i) {
    const auto& m = model->maps[i];
    auto info = kernel::map_info(loaded->maps[i].get());
    ASSERT_TRUE(info.ok()) << m.name;
    const auto& mi = info.value();
    EXPECT_EQ(mi.type, m.def.type) << m.name;
    EXPECT_EQ(mi.key_size, m.def.key_size) << m.name;
    EXPECT_EQ(mi.value_size, m.def.value_size) << m.name;
    EXPECT_EQ(mi.max_entries, m.def.max_entries) << m.name;
    EXPECT_EQ(mi.map_flags, m.def.flags) << m.name;
  }
}

TEST(Loader, CorpusObjectsLoadThroughTheirGeneratedLoader) {
  BPFSIGN_REQUIRE_LOADERS();
  for (const char* stem : {"core_reads", "global_data", "isa_v1", "isa_v4", "maps_btf", "maps_legacy", "many_progs", "net_progs",
                           "subprogs"}) {
    expect_loads(corpus(stem));
  }
}

// libbpf's light skeleton loader fails at 32 programs; ours keeps fds in
// its context, not on the stack.
TEST(Loader, HundredsOfProgramsLoadThroughOneLoader) {
  BPFSIGN_REQUIRE_LOADERS();
  expect_loads(scale("progs_200"));
  expect_loads(scale("progs_1000"));
}

// A failure at any step closes everything the loader opened: break the
// last map, then the last program, and count this process's fds.
TEST(Loader, AFailedLoadLeavesNoFdBehind) {
  BPFSIGN_REQUIRE_LOADERS();
  for (const char* broken : {"map", "program"}) {
    SCOPED_TRACE(broken);
    auto model = object::read_object_file(corpus("net_progs"));
    ASSERT_TRUE(model.ok());
    if (std::string(broken) == "map") {
      model->maps.back().def.max_entries = 0;  // the kernel refuses an empty array
    } else {
      model->programs.back().kind.prog_type = 999;  // no such program type
    }
    auto loader = loader::generate_loader(*model);
    ASSERT_TRUE(loader.ok()) << loader.error().message;
    const std::size_t before = test::open_fds();
    auto loaded = run_loader(*loader);
    ASSERT_FALSE(loaded.ok());
    EXPECT_NE(loaded.error().message.find(std::string(broken == std::string("map") ? "create map '" + model->maps.back().name
                                                                                    : "load program '" + model->programs.back().name)),
              std::string::npos)
        << loaded.error().message;
    EXPECT_EQ(test::open_fds(), before) << "fds leaked by a failed load";
  }
}

// `.values = {...}`: the loader fills prog_array and map-in-map slots with
// the programs and maps it created.
TEST(Loader, FillsProgArrayAndMapInMapSlots) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("maps_btf"));
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  auto fd_of = [&](const std::vector<std::string>& names, const std::vector<UniqueFd>& fds, const std::string& name) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return fds[i].get();
    }
    return -1;
  };
  int checked = 0;
  for (const auto& m : model->maps) {
    for (const auto& slot : m.slots) {
      std::uint32_t id = 0;
      auto r = kernel::map_lookup(fd_of(loaded->map_names, loaded->maps, m.name), &slot.index, &id);
      ASSERT_TRUE(r.ok()) << m.name << "[" << slot.index << "]";
      const bool prog_array = m.def.type == abi::map_type::kProgArray;
      std::uint32_t want = 0;
      if (prog_array) {
        want = kernel::prog_info(fd_of(loaded->program_names, loaded->programs, slot.target)).value().id;
      } else {
        want = kernel::map_info(fd_of(loaded->map_names, loaded->maps, slot.target)).value().id;
      }
      EXPECT_EQ(id, want) << m.name << "[" << slot.index << "] = " << slot.target;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3);
}

// .kconfig values come from the running kernel; .rodata is frozen after
// its initial bytes are written.
TEST(Loader, FillsKconfigFromTheRunningKernelAndFreezesRodata) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("global_data"));
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  int kconfig_fd = -1, rodata_fd = -1;
  for (std::size_t i = 0; i < model->maps.size(); ++i) {
    if (model->maps[i].origin == object::MapOrigin::Kconfig) kconfig_fd = loaded->maps[i].get();
    if (model->maps[i].name == ".rodata") rodata_fd = loaded->maps[i].get();
  }
  ASSERT_GE(kconfig_fd, 0);
  std::vector<std::uint8_t> value(model->find_map(".kconfig")->def.value_size);
  const std::uint32_t key = 0;
  ASSERT_TRUE(kernel::map_lookup(kconfig_fd, &key, value.data()).ok());
  auto read_u32 = [&](const std::string& name) {
    for (const auto& e : model->externs) {
      if (e.name != name) continue;
      std::uint32_t v = 0;
      std::memcpy(&v, value.data() + e.kconfig_offset, std::min<std::uint32_t>(e.kconfig_size, 4));
      return v;
    }
    ADD_FAILURE() << "no extern " << name;
    return 0u;
  };
  utsname u{};
  uname(&u);
  unsigned a = 0, b = 0, c = 0;
  std::sscanf(u.release, "%u.%u.%u", &a, &b, &c);
  EXPECT_EQ(read_u32("LINUX_KERNEL_VERSION"), (a << 16) + (b << 8) + std::min(c, 255u));
  EXPECT_EQ(read_u32("CONFIG_BPF_SYSCALL"), 1u);
  EXPECT_EQ(read_u32("CONFIG_BPFSIGN_DOES_NOT_EXIST"), 0u);
  EXPECT_GT(read_u32("CONFIG_HZ"), 0u);
  std::vector<std::uint8_t> rodata(model->find_map(".rodata")->def.value_size, 0);
  auto write = kernel::map_update(rodata_fd, &key, rodata.data());
  ASSERT_TRUE(!write.ok()) << ".rodata is writable: not frozen";
  EXPECT_EQ(write.error().kernel_errno(), EPERM);
}

// kfuncs and typeless ksyms resolved in the running kernel; weak externs
// it lacks left at 0. The program runs and reports through .bss.
TEST(Loader, ResolvesKernelFunctionsAndSymbolsInTheRunningKernel) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("externs_syscall"));
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::vector<std::uint8_t> no_ctx;
  auto run = kernel::prog_test_run(loaded->programs.at(0).get(), no_ctx);
  ASSERT_TRUE(run.ok());
  const object::Map* bss = model->find_map(".bss");
  ASSERT_NE(bss, nullptr);
  std::size_t bss_index = 0;
  while (model->maps[bss_index].name != ".bss") ++bss_index;
  std::vector<std::uint8_t> value(bss->def.value_size);
  const std::uint32_t key = 0;
  ASSERT_TRUE(kernel::map_lookup(loaded->maps[bss_index].get(), &key, value.data()).ok());
  auto variable = [&](const std::string& name) {
    const btf::Btf& b = *model->btf;
    for (const auto& v : b.datasec_vars(bss->def.btf_value_type_id)) {
      if (b.name(v.type) != name) continue;
      std::uint64_t x = 0;
      std::memcpy(&x, value.data() + v.offset, 8);
      return x;
    }
    ADD_FAILURE() << "no variable " << name;
    return std::uint64_t{0};
  };
  EXPECT_EQ(variable("own_pid"), static_cast<std::uint64_t>(getpid()));
  EXPECT_EQ(variable("weak_seen"), 0u);
  // The address kallsyms gives for schedule (root sees real addresses).
  std::ifstream kallsyms("/proc/kallsyms");
  std::string line;
  std::uint64_t want = 0;
  while (std::getline(kallsyms, line)) {
    if (line.size() > 19 && line.substr(17) == "T schedule") want = std::stoull(line.substr(0, 16), nullptr, 16);
  }
  ASSERT_NE(want, 0u) << "schedule not in /proc/kallsyms";
  EXPECT_EQ(variable("schedule_addr"), want);
}

// Every program our loader loads is the program libbpf's light skeleton
// loads: the kernel gives both the same tag (a hash of the instructions
// with map references blanked). Maps get the same attributes.
TEST(Loader, SameProgramTagsAndMapsAsBpftoolLightSkeletons) {
  BPFSIGN_REQUIRE_LOADERS();
  int compared = 0;
  for (const char* stem : {"global_data", "isa_v1", "isa_v4", "net_progs", "subprogs", "externs_syscall"}) {
    SCOPED_TRACE(stem);
    const std::filesystem::path driver = std::filesystem::path(BPFSIGN_LSKEL_DIR) / (std::string("lskel_") + stem);
    ASSERT_TRUE(std::filesystem::exists(driver)) << driver;
    FILE* pipe = ::popen(driver.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
    ASSERT_EQ(::pclose(pipe), 0) << out;
    const auto theirs = nlohmann::json::parse(out);

    auto model = object::read_object_file(corpus(stem));
    ASSERT_TRUE(model.ok());
    auto loader = loader::generate_loader(*model);
    ASSERT_TRUE(loader.ok()) << loader.error().message;
    auto loaded = run_loader(*loader);
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    ASSERT_EQ(theirs["programs"].size(), loaded->programs.size());
    for (const auto& fd : loaded->programs) {
      const auto ours = kernel::prog_info(fd.get()).value();
      std::string tag;
      for (auto b : ours.tag) tag += fmt::format("{:02x}", b);
      bool found = false;
      for (const auto& p : theirs["programs"]) {
        if (p["name"].get<std::string>() != ours.name) continue;
        found = true;
        EXPECT_EQ(p["tag"].get<std::string>(), tag) << ours.name;
        EXPECT_EQ(p["type"].get<std::uint32_t>(), ours.type) << ours.name;
        ++compared;
      }
      EXPECT_TRUE(found) << ours.name << " is not in the light skeleton";
    }
    ASSERT_EQ(theirs["maps"].size(), loaded->maps.size());
    for (const auto& fd : loaded->maps) {
      const auto ours = kernel::map_info(fd.get()).value();
      bool found = false;
      for (const auto& m : theirs["maps"]) {
        if (m["name"].get<std::string>() != ours.name) continue;
        found = true;
        EXPECT_EQ(m["type"].get<std::uint32_t>(), ours.type) << ours.name;
        EXPECT_EQ(m["key_size"].get<std::uint32_t>(), ours.key_size) << ours.name;
        EXPECT_EQ(m["value_size"].get<std::uint32_t>(), ours.value_size) << ours.name;
        EXPECT_EQ(m["max_entries"].get<std::uint32_t>(), ours.max_entries) << ours.name;
        EXPECT_EQ(m["flags"].get<std::uint32_t>(), ours.map_flags) << ours.name;
      }
      EXPECT_TRUE(found) << ours.name << " is not in the light skeleton";
    }
  }
  EXPECT_GE(compared, 11);
}

// A ring buffer's size becomes a power-of-two number of the running
// kernel's pages, computed by the loader (never the build host's page size).
TEST(Loader, RoundsRingBufferSizesToTheKernelsPages) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("maps_btf"));
  ASSERT_TRUE(model.ok());
  std::size_t ringbuf = model->maps.size();
  for (std::size_t i = 0; i < model->maps.size(); ++i) {
    if (model->maps[i].def.type == abi::map_type::kRingbuf) ringbuf = i;
  }
  ASSERT_LT(ringbuf, model->maps.size());
  const auto page = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
  model->maps[ringbuf].def.max_entries = page + 1;  // not a power-of-two number of pages
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const auto info = kernel::map_info(loaded->maps[ringbuf].get()).value();
  EXPECT_EQ(info.max_entries, 2 * page);
}

// A perf event array declared without max_entries gets one entry per
// possible CPU, as libbpf sizes it; libbpf's built-in externs come from the
// running kernel, with no configuration read. report_builtins hands back
// what the loader supplied.
TEST(Loader, SizesPerfBuffersByPossibleCpusAndAnswersLibbpfBuiltins) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("perf_tools"));
  ASSERT_TRUE(model.ok()) << model.error().message;
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok()) << loader.error().message;
  auto loaded = run_loader(*loader);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::size_t events = 0, bss = 0, report = 0;
  for (std::size_t i = 0; i < model->maps.size(); ++i) {
    if (model->maps[i].name == "events") events = i;
    if (model->maps[i].name == ".bss") bss = i;
  }
  for (std::size_t i = 0; i < model->programs.size(); ++i) {
    if (model->programs[i].name == "report_builtins") report = i;
  }
  const auto cpus = possible_cpus();
  ASSERT_TRUE(cpus.ok()) << cpus.error().message;
  EXPECT_EQ(kernel::map_info(loaded->maps[events].get()).value().max_entries, *cpus);
  std::vector<std::uint8_t> no_ctx;
  ASSERT_TRUE(kernel::prog_test_run(loaded->programs[report].get(), no_ctx).ok());
  std::uint64_t seen[4] = {};
  const std::uint32_t key = 0;
  ASSERT_TRUE(kernel::map_lookup(loaded->maps[bss].get(), &key, seen).ok());
  EXPECT_EQ(seen[0], running_kernel_version());
  EXPECT_EQ(seen[1], 1u) << "every kernel bpfsign loads on has BPF cookies";
  EXPECT_EQ(seen[2], running_kernel_has_syscall_wrapper() ? 1u : 0u);
  EXPECT_EQ(seen[3], 0u) << "a weak LINUX_ name libbpf does not know stays 0";
}

// The possible-CPU count is an input from the loader's context, not signed
// content: the loader itself refuses 0 and counts above its bound, in the
// kernel, before it creates anything.
TEST(Loader, RefusesAPossibleCpuCountOutsideItsBounds) {
  BPFSIGN_REQUIRE_LOADERS();
  auto model = object::read_object_file(corpus("perf_tools"));
  ASSERT_TRUE(model.ok());
  auto generated = loader::generate_loader(*model);
  ASSERT_TRUE(generated.ok());
  const LoadPlan plan = plan_object_load(*generated);
  auto kernel_loader = load_loader(plan);
  ASSERT_TRUE(kernel_loader.ok()) << kernel_loader.error().message;
  for (std::uint32_t cpus : {0u, loader::kMaxPossibleCpus + 1, 0xffffffffu}) {
    SCOPED_TRACE(cpus);
    std::vector<std::uint8_t> ctx(generated->context.size(), 0);
    loader::ContextHeader header;
    header.size = generated->context.size();
    header.page_size = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
    header.possible_cpus = cpus;
    std::memcpy(ctx.data(), &header, sizeof header);
    ASSERT_TRUE(kernel::prog_test_run(kernel_loader->program.get(), ctx).ok());
    std::memcpy(&header, ctx.data(), sizeof header);
    EXPECT_EQ(header.error, -EINVAL);
    ASSERT_LT(header.failed_step, generated->steps.size());
    EXPECT_EQ(generated->steps[header.failed_step].kind, loader::LoaderStep::Kind::ContextBound);
    EXPECT_EQ(generated->steps[header.failed_step].object, "events");
    std::int32_t btf_fd = 0;
    std::memcpy(&btf_fd, ctx.data() + loader::ContextLayout::kBtfFd, 4);
    EXPECT_LE(btf_fd, 0) << "the loader closes what it opened before it fails";
  }
}

}  // namespace
}  // namespace bpfsign::load
