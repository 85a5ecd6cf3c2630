// Runtime settings on this machine's kernel (runtime_settings.bpf.o with
// testdata/bpf/runtime_settings.settings.json): the values given reach the
// programs, map sizes and skips happen as declared, and the loader itself -
// in the kernel, whoever fills its context - refuses a value outside its
// declared bounds. Needs root (bpf(2)); skips, saying why, without it.
#include <gtest/gtest.h>

#include "kernel_test_support.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/load_plan.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::load {
namespace {

struct Generated {
  object::ObjectModel model;
  loader::LoaderProgram loader;
};

Generated generate() {
  const std::filesystem::path dir = BPFSIGN_CORPUS_DIR;
  auto model = object::read_object_file(dir / "runtime_settings.bpf.o");
  EXPECT_TRUE(model.ok()) << model.error().message;
  std::ifstream in(std::filesystem::path(BPFSIGN_SOURCE_DIR) / "testdata/bpf/runtime_settings.settings.json", std::ios::binary);
  const std::vector<std::uint8_t> json((std::istreambuf_iterator<char>(in)), {});
  auto declaration = loader::parse_settings_declaration(json, "runtime_settings.settings.json");
  EXPECT_TRUE(declaration.ok()) << declaration.error().message;
  auto loader = loader::generate_loader(*model, *declaration);
  EXPECT_TRUE(loader.ok()) << loader.error().message;
  return {std::move(model).value(), std::move(loader).value()};
}

std::size_t index_of(const std::vector<std::string>& names, const std::string& name) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return i;
  }
  ADD_FAILURE() << "no " << name;
  return 0;
}

// .bss as the programs see it: calls, hits, seen_delta, ... (declaration order).
struct Bss {
  std::uint64_t calls, hits;
  std::int64_t seen_delta;
  std::uint64_t unlink_fentry_hits, unlink_kprobe_hits, sync_fentry_hits, sync_kprobe_hits;
};

TEST(Settings, ValuesReachTheProgramsAndSkipsHappenAsDeclared) {
  BPFSIGN_REQUIRE_LOADERS();
  Generated g = generate();
  RunOptions options;
  options.settings.variables = {{"targ_tgid", std::to_string(::getpid())}, {"step", "5"}, {"delta", "-42"}};
  options.settings.max_entries = {{"counts", "4096"}};
  // Trampolines are refused by this machine's lockdown: the fentry is
  // skipped as asked, and its kprobe fallback loads instead.
  options.settings.skip = {"on_unlink_fentry"};
  auto done = execute_plan(plan_object_load(g.loader), options);
  ASSERT_TRUE(done.ok()) << done.error().message;
  const LoadedObject& loaded = done->object;
  const auto& progs = g.loader.programs;
  EXPECT_FALSE(loaded.programs[index_of(progs, "on_unlink_fentry")]);
  EXPECT_TRUE(loaded.programs[index_of(progs, "on_unlink_kprobe")]) << "the fallback loads when its primary was skipped";
  EXPECT_FALSE(loaded.programs[index_of(progs, "on_sync_fentry")]);
  EXPECT_TRUE(loaded.programs[index_of(progs, "on_sync_kprobe")]);
  ASSERT_EQ(loaded.skipped.size(), 2u);
  for (const auto& s : loaded.skipped) {
    if (s.name == "on_unlink_fentry") {
      EXPECT_EQ(s.why, loader::ProgramOutcome::SkippedAsAsked);
    }
    if (s.name == "on_sync_fentry") {
      EXPECT_EQ(s.why, loader::ProgramOutcome::TargetMissing);
      EXPECT_NE(s.reason().find("bpfsign_renamed_ksys_sync"), std::string::npos) << s.reason();
    }
  }
  const auto counts = kernel::map_info(loaded.maps[index_of(g.loader.maps, "counts")].get()).value();
  EXPECT_EQ(counts.max_entries, 4096u);

  // Only count_chdir is attached: the behaviour under test is its own.
  std::vector<loader::ProgramSummary> only = g.loader.program_summaries;
  for (auto& p : only) {
    if (p.name != "count_chdir") p.attach = object::AttachMethod::None;
  }
  auto attached = attach_programs(only, loaded, {});
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  const auto cwd = std::filesystem::current_path();
  constexpr int kChdirs = 7;
  for (int i = 0; i < kChdirs; ++i) ASSERT_EQ(::chdir("/"), 0);
  std::filesystem::current_path(cwd);
  Bss bss{};
  const std::uint32_t key = 0;
  ASSERT_TRUE(kernel::map_lookup(loaded.maps[index_of(g.loader.maps, ".bss")].get(), &key, &bss).ok());
  EXPECT_GE(bss.calls, static_cast<std::uint64_t>(kChdirs));
  EXPECT_EQ(bss.hits, 5 * bss.calls) << "step=5 is in effect";
  EXPECT_EQ(bss.seen_delta, -42) << "a negative value of a signed setting";
}

TEST(Settings, AFilterOnAnotherProcessCountsNothingHere) {
  BPFSIGN_REQUIRE_LOADERS();
  Generated g = generate();
  RunOptions options;
  options.settings.variables = {{"targ_tgid", "1"}};
  options.settings.skip = {"on_unlink_fentry"};
  auto done = execute_plan(plan_object_load(g.loader), options);
  ASSERT_TRUE(done.ok()) << done.error().message;
  std::vector<loader::ProgramSummary> only = g.loader.program_summaries;
  for (auto& p : only) {
    if (p.name != "count_chdir") p.attach = object::AttachMethod::None;
  }
  auto attached = attach_programs(only, done->object, {});
  ASSERT_TRUE(attached.ok()) << attached.error().message;
  const auto cwd = std::filesystem::current_path();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(::chdir("/"), 0);
  std::filesystem::current_path(cwd);
  Bss bss{};
  const std::uint32_t key = 0;
  ASSERT_TRUE(kernel::map_lookup(done->object.maps[index_of(g.loader.maps, ".bss")].get(), &key, &bss).ok());
  EXPECT_EQ(bss.calls, 0u) << "targ_tgid=1 filters out this process";
}

// With the runtime's own check turned off, the values reach the loader's
// context as given: the signed loader refuses each, names it, and leaves
// no fd behind.
TEST(Settings, TheLoaderRefusesValuesOutsideTheirBoundsInTheKernel) {
  BPFSIGN_REQUIRE_LOADERS();
  Generated g = generate();
  const std::vector<std::pair<const char*, RuntimeSettings>> cases = {
      {"step", {{{"step", "3"}}, {}, {}}},
      {"delta", {{{"delta", "-101"}}, {}, {}}},
      {"delta", {{{"delta", "0x100000000"}}, {}, {}}},  // fits no int: 64-bit compare, no truncation
      {"targ_tgid", {{{"targ_tgid", "4194305"}}, {}, {}}},
      {"verbose", {{{"verbose", "2"}}, {}, {}}},
      {"counts", {{}, {{"counts", "65537"}}, {}}},
      {"events", {{}, {{"events", "0"}}, {}}},
  };
  for (const auto& [name, settings] : cases) {
    SCOPED_TRACE(name);
    RunOptions options;
    options.settings = settings;
    options.settings.skip = {"on_unlink_fentry"};
    EXPECT_FALSE(execute_plan(plan_object_load(g.loader), options).ok()) << "the runtime's own check refuses it first";
    options.check_settings = false;
    auto done = execute_plan(plan_object_load(g.loader), options);
    ASSERT_FALSE(done.ok());
    EXPECT_EQ(done.error().kind, ErrorKind::Kernel);
    EXPECT_NE(done.error().message.find(std::string("the signed loader refused")), std::string::npos) << done.error().message;
    EXPECT_NE(done.error().message.find(std::string("'") + name + "'"), std::string::npos) << done.error().message;
  }
}

}  // namespace
}  // namespace bpfsign::load
