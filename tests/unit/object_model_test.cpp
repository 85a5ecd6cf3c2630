// The object model on known corpus objects: what each source file declares
// must appear in the model (the libbpf differential test covers the rest).
#include <gtest/gtest.h>

#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/object/model_dump.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "test_support.hpp"

namespace bpfsign::object {
namespace {

ObjectModel read(const std::string& stem) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) return {};
  auto m = read_object_file(objects.front().parent_path() / (stem + ".bpf.o"));
  if (!m) ADD_FAILURE() << m.error().message;
  return m ? std::move(m).value() : ObjectModel{};
}

#define REQUIRE_CORPUS() \
  if (test::corpus_objects().empty()) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)"

struct SectionCase {
  const char* section;
  std::uint32_t prog_type;
  std::uint32_t attach_type;
  std::uint32_t flags;
  const char* target;
};

TEST(SectionDefs, FollowLibbpfConventions) {
  const SectionCase cases[] = {
      {"socket", abi::prog_type::kSocketFilter, 0, 0, ""},
      {"kprobe/do_unlinkat", abi::prog_type::kKprobe, 0, 0, "do_unlinkat"},
      {"kprobe.multi/vfs_*", abi::prog_type::kKprobe, 42, 0, "vfs_*"},
      {"tp/syscalls/sys_enter_getppid", abi::prog_type::kTracepoint, 0, 0, "syscalls/sys_enter_getppid"},
      {"raw_tp.w/sys_enter", abi::prog_type::kRawTracepointWritable, 0, 0, "sys_enter"},
      {"fentry/__x64_sys_getpgid", abi::prog_type::kTracing, 24, 0, "__x64_sys_getpgid"},
      {"fexit.s/do_exit", abi::prog_type::kTracing, 25, abi::kProgFlagSleepable, "do_exit"},
      {"lsm.s/bpf", abi::prog_type::kLsm, 27, abi::kProgFlagSleepable, "bpf"},
      {"iter/task", abi::prog_type::kTracing, 28, 0, "task"},
      {"xdp", abi::prog_type::kXdp, 37, 0, ""},
      {"xdp.frags", abi::prog_type::kXdp, 37, abi::kProgFlagXdpHasFrags, ""},
      {"xdp/devmap", abi::prog_type::kXdp, 33, 0, ""},
      {"tc", abi::prog_type::kSchedCls, 0, 0, ""},
      {"tcx/ingress", abi::prog_type::kSchedCls, 46, 0, ""},
      {"cgroup_skb/egress", abi::prog_type::kCgroupSkb, 1, 0, ""},
      {"cgroup/sock_create", abi::prog_type::kCgroupSock, 2, 0, ""},
      {"syscall", abi::prog_type::kSyscall, 0, abi::kProgFlagSleepable, ""},
      {"struct_ops.s/init", abi::prog_type::kStructOps, 0, abi::kProgFlagSleepable, "init"},
      {"netfilter", abi::prog_type::kNetfilter, 45, 0, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.section);
    auto k = classify_section(c.section);
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->prog_type, c.prog_type);
    EXPECT_EQ(k->expected_attach_type, c.attach_type);
    EXPECT_EQ(k->prog_flags, c.flags);
    EXPECT_EQ(k->attach_target, c.target);
  }
  for (const char* bad : {"", "sockets", "kprobefoo", "fentryx/y", "xdp/", "cgroup", ".text", "maps"}) {
    EXPECT_FALSE(classify_section(bad).has_value()) << bad;
  }
}

TEST(ObjectModel, LinksSubprogramsInLibbpfOrder) {
  REQUIRE_CORPUS();
  const auto m = read("subprogs");
  const Program* p = m.find_program("with_callbacks");
  ASSERT_NE(p, nullptr);
  std::vector<std::string> order;
  for (const auto& f : p->functions) order.emplace_back(f.name);
  // First use while scanning: bpf_loop's callback at insn 7, the
  // for_each_map_elem callback at 15, the call to scale at 25; clamp_global
  // is first called from loop_step, so it comes right after it.
  EXPECT_EQ(order, (std::vector<std::string>{"with_callbacks", "loop_step", "clamp_global", "sum_elem", "scale"}));
  EXPECT_EQ(p->func_info.size(), 5u);
  for (const auto& r : p->relocations) {
    if (r.kind != RelocKind::SubprogCall && r.kind != RelocKind::SubprogAddr) continue;
    const auto& insn = p->insns[r.insn];
    EXPECT_EQ(static_cast<std::int64_t>(r.insn) + insn.imm + 1, p->functions[r.target].start) << "insn " << r.insn;
  }
}

TEST(ObjectModel, ReadsLegacyMapDefinitions) {
  REQUIRE_CORPUS();
  const auto m = read("maps_legacy");
  ASSERT_EQ(m.maps.size(), 2u);
  EXPECT_EQ(m.maps[0].name, "legacy_counts");
  EXPECT_EQ(m.maps[0].origin, MapOrigin::Legacy);
  EXPECT_EQ(m.maps[0].def.type, abi::map_type::kArray);
  EXPECT_EQ(m.maps[0].def.value_size, 8u);
  EXPECT_EQ(m.maps[0].def.max_entries, 8u);
  EXPECT_EQ(m.maps[1].name, "legacy_hash");
  EXPECT_EQ(m.maps[1].def.flags, 1u);  // BPF_F_NO_PREALLOC
  ASSERT_EQ(m.programs.size(), 1u);
  int map_refs = 0;
  for (const auto& r : m.programs[0].relocations) map_refs += r.kind == RelocKind::MapFd;
  EXPECT_EQ(map_refs, 2);
}

TEST(ObjectModel, ReadsMapInMapAndProgArraySlotsAndPinning) {
  REQUIRE_CORPUS();
  const auto m = read("maps_btf");
  const Map* outer = m.find_map("outer_array");
  ASSERT_NE(outer, nullptr);
  ASSERT_TRUE(outer->inner.has_value());
  EXPECT_EQ(outer->inner->max_entries, 2u);
  ASSERT_EQ(outer->slots.size(), 2u);
  EXPECT_EQ(outer->slots[0].index, 0u);
  EXPECT_EQ(outer->slots[0].target, "inner_a");
  EXPECT_EQ(outer->slots[1].index, 2u);
  EXPECT_EQ(outer->slots[1].target, "inner_b");
  const Map* jump = m.find_map("jump_table");
  ASSERT_NE(jump, nullptr);
  ASSERT_EQ(jump->slots.size(), 1u);
  EXPECT_EQ(jump->slots[0].target, "tail_target");
  ASSERT_NE(m.find_map("pinned_total"), nullptr);
  EXPECT_TRUE(m.find_map("pinned_total")->def.pin_by_name);
}

TEST(ObjectModel, ReadsGlobalDataAndKconfig) {
  REQUIRE_CORPUS();
  const auto m = read("global_data");
  const Map* rodata = m.find_map(".rodata");
  ASSERT_NE(rodata, nullptr);
  EXPECT_TRUE(rodata->frozen_after_init());
  EXPECT_EQ(rodata->kernel_name, "global_d.rodata");
  EXPECT_EQ(rodata->def.flags, abi::kMapFlagRdonlyProg | abi::kMapFlagMmapable);
  const Map* custom = m.find_map(".data.custom");
  ASSERT_NE(custom, nullptr);
  EXPECT_EQ(custom->kernel_name, ".data.custom");
  ASSERT_EQ(custom->initial_value.size(), 4u);
  EXPECT_EQ(custom->initial_value[0], 42);
  const Map* kconfig = m.find_map(".kconfig");
  ASSERT_NE(kconfig, nullptr);
  EXPECT_EQ(kconfig->origin, MapOrigin::Kconfig);
  ASSERT_EQ(m.externs.size(), 4u);
  for (const auto& e : m.externs) {
    EXPECT_EQ(e.kind, ExternKind::Kconfig) << e.name;
    EXPECT_EQ(e.kconfig_offset % e.kconfig_align, 0u) << e.name;
  }
  EXPECT_EQ(m.externs.back().name, "CONFIG_BPF_SYSCALL");
  EXPECT_EQ(m.externs.back().kconfig_type, KconfigType::Bool);
}

TEST(ObjectModel, ClassifiesKfuncsAndKsyms) {
  REQUIRE_CORPUS();
  const auto m = read("kfuncs_ksyms");
  auto find = [&](std::string_view name) -> const Extern* {
    for (const auto& e : m.externs) {
      if (e.name == name) return &e;
    }
    return nullptr;
  };
  ASSERT_NE(find("bpf_task_from_pid"), nullptr);
  EXPECT_EQ(find("bpf_task_from_pid")->kind, ExternKind::Kfunc);
  EXPECT_TRUE(find("bpfsign_no_such_kfunc")->weak);
  EXPECT_EQ(find("runqueues")->kind, ExternKind::Ksym);
  EXPECT_TRUE(find("runqueues")->typed);
  EXPECT_FALSE(find("schedule")->typed);
  const Program& p = m.programs.at(0);
  for (const auto& r : p.relocations) {
    if (r.kind == RelocKind::KfuncCall) {
      EXPECT_EQ(p.insns[r.insn].src, static_cast<std::uint8_t>(isa::CallKind::Kfunc));
    }
  }
}

TEST(ObjectModel, ManyProgramsObjectHasEveryProgram) {
  REQUIRE_CORPUS();
  EXPECT_GE(read("many_progs").programs.size(), 50u);
}

TEST(ObjectModel, ReadingIsDeterministic) {
  REQUIRE_CORPUS();
  for (const auto& path : test::corpus_objects()) {
    auto a = read_object_file(path);
    auto b = read_object_file(path);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(dump_json(*a), dump_json(*b)) << path;
    EXPECT_EQ(a->btf->serialize(), b->btf->serialize()) << path;
  }
}

}  // namespace
}  // namespace bpfsign::object
