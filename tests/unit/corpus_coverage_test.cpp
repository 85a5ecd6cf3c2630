// The corpus covers what issue 2 promises: every program type by section
// name, every kind of global data section, legacy and BTF-defined maps,
// externs, and one object with at least 50 programs. Map types and CO-RE
// records are checked by the object-model tests once BTF is parsed (issue 3).
#include <gtest/gtest.h>

#include <elf.h>

#include <set>

#include "bpfsign/object/elf_file.hpp"
#include "test_support.hpp"

namespace bpfsign::object {
namespace {

struct CorpusIndex {
  std::set<std::string> sections;
  std::set<std::string> undefined_symbols;  // externs: kfuncs, ksyms, kconfig
  std::size_t max_programs_in_one_object = 0;
};

const CorpusIndex& corpus() {
  static const CorpusIndex index = [] {
    CorpusIndex idx;
    for (const auto& path : test::corpus_objects()) {
      auto file = ElfFile::open(path);
      if (!file) continue;
      std::size_t programs = 0;
      for (const auto& s : file->sections()) idx.sections.emplace(s.name);
      for (const auto& sym : file->symbols()) {
        if (sym.section == SHN_UNDEF && !sym.name.empty()) idx.undefined_symbols.emplace(sym.name);
        if (sym.type == STT_FUNC && sym.bind == STB_GLOBAL && sym.section != SHN_UNDEF) {
          for (const auto& sec : file->sections()) {
            if (sec.index == sym.section && sec.name != ".text") ++programs;  // .text holds subprograms
          }
        }
      }
      idx.max_programs_in_one_object = std::max(idx.max_programs_in_one_object, programs);
    }
    return idx;
  }();
  return index;
}

TEST(CorpusCoverage, EveryProgramTypeHasASection) {
  const char* kinds[] = {"tp/", "tracepoint/", "raw_tp/", "raw_tracepoint/", "tp_btf/", "fentry/", "fexit/",
                         "fmod_ret/", "kprobe/", "kretprobe/", "xdp", "tc", "socket", "cgroup_skb/",
                         "cgroup/", "lsm/", "lsm.s/", "iter/", "syscall"};
  for (const char* kind : kinds) {
    bool found = false;
    for (const auto& s : corpus().sections) found = found || s.rfind(kind, 0) == 0;
    EXPECT_TRUE(found) << "no section starting with " << kind;
  }
}

TEST(CorpusCoverage, EveryKindOfDataAndMapSection) {
  for (const char* name : {".data", ".rodata", ".bss", ".data.custom", ".rodata.custom", ".data.zeroed", ".maps",
                           "maps", ".BTF", ".BTF.ext", "license"}) {
    EXPECT_TRUE(corpus().sections.count(name)) << "no section " << name;
  }
}

TEST(CorpusCoverage, ExternsOfEveryKind) {
  for (const char* name : {"LINUX_KERNEL_VERSION", "CONFIG_HZ", "bpf_task_from_pid", "bpfsign_no_such_kfunc",
                           "runqueues", "schedule", "bpfsign_no_such_var"}) {
    EXPECT_TRUE(corpus().undefined_symbols.count(name)) << "no extern " << name;
  }
}

TEST(CorpusCoverage, OneObjectHasAtLeastFiftyPrograms) {
  EXPECT_GE(corpus().max_programs_in_one_object, 50u);
}

}  // namespace
}  // namespace bpfsign::object
