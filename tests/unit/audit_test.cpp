// The loader decoder reads every corpus object's loaders back into the
// commands the object model says they must run, explains every
// instruction, and flags any instruction patched in.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/audit/lskel_header.hpp"
#include "bpfsign/common/value_area.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "test_support.hpp"

namespace bpfsign::audit {
namespace {

std::size_t count(const DecodedLoader& d, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& c : d.commands) n += c.kind == kind ? 1u : 0u;
  return n;
}

std::string field(const Command& c, const std::string& key) {
  for (const auto& [k, v] : c.fields) {
    if (k == key) return v;
  }
  return "";
}

std::string unexplained_text(const DecodedLoader& d) {
  std::string s;
  for (const auto& u : d.unexplained) s += fmt::format("\n  {} {}: {}", u.pc, u.instruction, u.why);
  return s;
}

// Every map reference of every program, at its instruction, to its map.
void expect_map_references(const DecodedLoader& d, const object::ObjectModel& model) {
  std::string kconfig_map;
  for (const auto& candidate : model.maps) {
    if (candidate.origin == object::MapOrigin::Kconfig) kconfig_map = candidate.kernel_name;
  }
  for (const auto& prog : model.programs) {
    for (const auto& r : prog.relocations) {
      if (r.kind != object::RelocKind::MapFd && r.kind != object::RelocKind::MapValue && r.kind != object::RelocKind::KconfigValue) continue;
      // (A .kconfig relocation names its extern; the map is .kconfig.)
      const std::string& map_name = r.kind == object::RelocKind::KconfigValue ? kconfig_map : model.maps[r.target].kernel_name;
      const std::string expected = fmt::format("map '{}'", map_name);
      const bool found = std::any_of(d.commands.begin(), d.commands.end(), [&](const Command& c) {
        return c.kind == "RELOCATION" && field(c, "program") == prog.name.substr(0, 15) && field(c, "insn") == std::to_string(r.insn) &&
               field(c, "value").find(expected) != std::string::npos;
      });
      EXPECT_TRUE(found) << prog.name << " insn " << r.insn << " -> " << expected;
    }
  }
}

TEST(Audit, EveryCorpusLoaderDecodesIntoTheCommandsOfItsObject) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "corpus not built";
  std::size_t decoded = 0;
  for (const auto& path : objects) {
    SCOPED_TRACE(path.filename().string());
    auto model = object::read_object_file(path);
    ASSERT_TRUE(model.ok());
    auto loader = loader::generate_loader(*model);
    if (!loader) continue;  // refused by name (module kfuncs)
    ++decoded;
    for (auto variant : {loader::LoaderVariant::LoaderChecked, loader::LoaderVariant::LoaderCheckedHashOnly}) {
      const bool exclusive = variant == loader::LoaderVariant::LoaderChecked;
      const auto checked = loader::encode_loader(*loader, variant);
      auto d = decode_loader(checked, loader->blob);
      ASSERT_TRUE(d.ok()) << d.error().message;
      EXPECT_TRUE(d->unexplained.empty()) << unexplained_text(*d);
      ASSERT_TRUE(d->metadata_check.has_value());
      EXPECT_EQ(d->metadata_check->expected_hash, value_area_hash(loader->blob));
      EXPECT_EQ(d->metadata_check->checks_exclusive, exclusive);
    }
    auto d = decode_loader(loader->code, loader->blob);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(d->unexplained.empty()) << unexplained_text(*d);
    EXPECT_FALSE(d->metadata_check.has_value());
    EXPECT_EQ(count(*d, "BTF_LOAD"), model->btf ? 1u : 0u);
    std::size_t inner = 0;
    for (const auto& m : model->maps) inner += m.inner ? 1u : 0u;
    EXPECT_EQ(count(*d, "MAP_CREATE"), model->maps.size() + inner);
    EXPECT_EQ(count(*d, "PROG_LOAD"), model->programs.size());
    // Maps in model order with their kernel names and sizes.
    // (An inner-map template is the map whose fd another one takes as inner_map_fd.)
    std::set<std::string> templates;
    for (const auto& c : d->commands) {
      if (c.kind == "MAP_CREATE" && field(c, "inner_map_fd") != "0") templates.insert(field(c, "inner_map_fd"));
    }
    EXPECT_EQ(templates.size(), inner);
    std::size_t m = 0;
    for (const auto& c : d->commands) {
      if (c.kind != "MAP_CREATE" || templates.count("fd of map '" + field(c, "name") + "'")) continue;
      ASSERT_LT(m, model->maps.size());
      EXPECT_EQ(field(c, "name"), model->maps[m].kernel_name);
      EXPECT_EQ(field(c, "key_size"), std::to_string(model->maps[m].def.key_size));
      EXPECT_EQ(field(c, "value_size"), std::to_string(model->maps[m].def.value_size));
      ++m;
    }
    // Programs in model order: name, type, instruction count.
    std::size_t p = 0;
    for (const auto& c : d->commands) {
      if (c.kind != "PROG_LOAD") continue;
      const auto& prog = model->programs[p++];
      EXPECT_EQ(field(c, "name"), prog.name.substr(0, 15));
      EXPECT_EQ(field(c, "type"), std::to_string(prog.kind.prog_type));
      EXPECT_EQ(field(c, "insn_cnt"), std::to_string(prog.insns.size()));
    }
    // Every fd handed back: BTF, each map, each program.
    EXPECT_GE(count(*d, "FD_OUT"), model->maps.size() + model->programs.size());
    // Every relocation the loader applies at run time is named (kfuncs, ksyms).
    std::size_t runtime_relocs = 0;
    for (const auto& prog : model->programs) {
      for (const auto& r : prog.relocations) {
        runtime_relocs += (r.kind == object::RelocKind::KfuncCall || r.kind == object::RelocKind::KsymAddr) ? 1u : 0u;
      }
    }
    EXPECT_GE(count(*d, "RELOCATION"), runtime_relocs);
    expect_map_references(*d, *model);
  }
  EXPECT_GE(decoded, 10u);
}

TEST(Audit, PatchedInInstructionsAreUnexplained) {
  auto model = object::read_object_file(std::filesystem::path(BPFSIGN_CORPUS_DIR) / "subprogs.bpf.o");
  ASSERT_TRUE(model.ok());
  auto loader = loader::generate_loader(*model);
  ASSERT_TRUE(loader.ok());
  const auto& code = loader->code;
  // 1. A helper call in place of an instruction on the main path.
  auto patched = code;
  std::size_t at = 0;
  for (std::size_t i = 0; i + 8 <= patched.size(); i += 8) {
    if (patched[i] == 0xb7 && (patched[i + 1] & 0x0f) == 3) {  // r3 = imm (a size argument)
      at = i;
      break;
    }
  }
  ASSERT_NE(at, 0u);
  const std::uint8_t call_trace_printk[8] = {0x85, 0, 0, 0, 6, 0, 0, 0};
  std::memcpy(patched.data() + at, call_trace_printk, 8);
  auto d = decode_loader(patched, loader->blob);
  ASSERT_TRUE(d.ok());
  ASSERT_FALSE(d->unexplained.empty());
  EXPECT_EQ(d->unexplained.front().pc, at / 8);
  // 2. Code appended after the loader's last exit: reached by nothing.
  auto appended = code;
  const std::uint8_t mov_r0[8] = {0xb7, 0, 0, 0, 1, 0, 0, 0};
  appended.insert(appended.end(), mov_r0, mov_r0 + 8);
  d = decode_loader(appended, loader->blob);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->unexplained.size(), 1u);
  EXPECT_NE(d->unexplained.front().why.find("reached by no path"), std::string::npos);
  // 3. A bpf(2) command a loader has no business running (map lookup).
  // (r1 = cmd; r2 = ld_imm64 attr; r3 = size; call bpf_sys_bpf)
  auto other_cmd = code;
  bool patched_cmd = false;
  for (std::size_t i = 32; i + 8 <= other_cmd.size() && !patched_cmd; i += 8) {
    if (other_cmd[i] == 0x85 && other_cmd[i + 4] == 166 && other_cmd[i - 32] == 0xb7 && (other_cmd[i - 31] & 0x0f) == 1) {
      other_cmd[i - 28] = 1;  // r1 = BPF_MAP_LOOKUP_ELEM
      patched_cmd = true;
    }
  }
  ASSERT_TRUE(patched_cmd);
  d = decode_loader(other_cmd, loader->blob);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->unexplained.empty());
}

}  // namespace
}  // namespace bpfsign::audit

namespace bpfsign::audit {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// bpftool's light skeletons (Debian's bpftool, built by the tests) are read
// too: every instruction explained, the same programs and maps as the
// object, and the inputs their loaders take from the unsigned context named.
TEST(AuditLightSkeleton, BpftoolLoadersAreExplainedAndTheirContextInputsNamed) {
  const std::filesystem::path dir = BPFSIGN_LSKEL_DIR;
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "light skeletons not built";
  std::size_t seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".h") continue;
    const std::string stem = e.path().stem().stem().string();
    SCOPED_TRACE(stem);
    ++seen;
    const std::string text = read_text(e.path());
    ASSERT_TRUE(is_light_skeleton(text));
    auto lskel = parse_light_skeleton(text, e.path().string());
    ASSERT_TRUE(lskel.ok()) << lskel.error().message;
    auto d = decode_loader(lskel->insns, lskel->data);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(d->unexplained.empty()) << unexplained_text(*d);
    auto model = object::read_object_file(std::filesystem::path(BPFSIGN_CORPUS_DIR) / (stem + ".bpf.o"));
    ASSERT_TRUE(model.ok());
    EXPECT_EQ(count(*d, "PROG_LOAD"), model->programs.size());
    EXPECT_EQ(count(*d, "MAP_CREATE"), model->maps.size());
    expect_map_references(*d, *model);
    // Each global-data map with an initial value can be overwritten from the context.
    std::size_t data_maps = 0;
    for (const auto& m : model->maps) data_maps += m.initial_value.empty() ? 0u : 1u;
    EXPECT_GE(count(*d, "COPY_FROM_USER"), data_maps);
  }
  EXPECT_GE(seen, 5u);
}

// The three forms bpftool writes (inline literals of bpftool 7.1; static
// arrays of later versions, with and without -S) are read.
TEST(AuditLightSkeleton, EveryFormBpftoolWritesIsRead) {
  const std::filesystem::path dir = BPFSIGN_LSKEL_TESTDATA_DIR;
  for (const char* name : {"form_inline", "form_arrays", "form_arrays_signed"}) {
    SCOPED_TRACE(name);
    const std::string text = read_text(dir / (std::string(name) + ".lskel.h"));
    ASSERT_TRUE(is_light_skeleton(text));
    auto lskel = parse_light_skeleton(text, name);
    ASSERT_TRUE(lskel.ok()) << lskel.error().message;
    EXPECT_EQ(lskel->object_name, "tiny");
    EXPECT_EQ(lskel->data, (std::vector<std::uint8_t>{1, 0, 2, 0}));
    EXPECT_EQ(lskel->insns.size(), 16u);
    EXPECT_EQ(lskel->insns[0], 0xb7);
    EXPECT_EQ(lskel->signature.empty(), std::string(name) != "form_arrays_signed");
    EXPECT_EQ(lskel->excl_prog_hash.size(), std::string(name) == "form_arrays_signed" ? 4u : 0u);
  }
}

// Headers that make a compiler build a loader other than the one a text
// search finds, or that step outside bpftool's form, are refused by name
// and line. Each is form_inline.lskel.h with one change (testdata/lskel/adversarial).
struct AdversarialHeader {
  const char* file;
  const char* refusal;
};

class AuditLightSkeletonAdversarial : public ::testing::TestWithParam<AdversarialHeader> {};

TEST_P(AuditLightSkeletonAdversarial, IsRefusedNamingWhy) {
  const auto& c = GetParam();
  const std::filesystem::path file = std::filesystem::path(BPFSIGN_LSKEL_TESTDATA_DIR) / "adversarial" / (std::string(c.file) + ".lskel.h");
  const std::string text = read_text(file);
  ASSERT_FALSE(text.empty()) << file;
  ASSERT_TRUE(is_light_skeleton(text));
  auto r = parse_light_skeleton(text, "h.h");
  ASSERT_FALSE(r.ok()) << c.file << " was read";
  EXPECT_NE(r.error().message.find(c.refusal), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("h.h: "), std::string::npos) << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Headers, AuditLightSkeletonAdversarial,
    ::testing::Values(AdversarialHeader{"if0_decoy", "line 91: the preprocessor line '#if 0'"},
                      AdversarialHeader{"comment_decoy", "line 91: a comment bpftool does not write"},
                      AdversarialHeader{"macro_rename", "line 7: the preprocessor line '#define bpf_load_and_run(o)"},
                      AdversarialHeader{"second_assignment", "line 93: the load function differs from bpftool's form"},
                      AdversarialHeader{"extra_statement", "line 93: bpftool writes a line of the form 'err = bpf_load_and_run(&opts);' here"},
                      AdversarialHeader{"continuation_in_code", "line 93: a backslash outside a string literal"},
                      AdversarialHeader{"trigraph", "line 90: two question marks"},
                      AdversarialHeader{"long_hex_escape", "line 92: a literal not in bpftool's form"},
                      AdversarialHeader{"octal_escape", "line 92: a literal not in bpftool's form"},
                      AdversarialHeader{"second_loader_call", "line 104: 'tiny__load2(' is not a function a bpftool light skeleton has"},
                      AdversarialHeader{"raw_syscall", "line 59: the name 'syscall'"},
                      AdversarialHeader{"skel_sys_bpf", "line 59: the name 'skel_sys_bpf'"},
                      AdversarialHeader{"call_through_pointer", "line 59: '(*' (a function pointer)"},
                      AdversarialHeader{"raw_string_prefix", "line 124: a prefixed string or character literal"},
                      AdversarialHeader{"line_comment", "line 84: a '//' comment"},
                      AdversarialHeader{"other_include", "line 7: the preprocessor line '#include \"evil.h\"'"},
                      AdversarialHeader{"non_ascii", "line 54: byte 0xd0"},
                      AdversarialHeader{"code_in_cplusplus_block", "line 123: code inside '#ifdef __cplusplus'"},
                      AdversarialHeader{"constructor", "line 118: the name 'constructor'"},
                      AdversarialHeader{"size_mismatch", "line 90: opts.insns holds 16 bytes, opts.insns_sz says 8"},
                      AdversarialHeader{"pragma_operator", "line 85: the name '_Pragma'"},
                      AdversarialHeader{"code_after_guard", "line 131: code after the include guard's #endif"},
                      AdversarialHeader{"comment_then_directive", "line 29: a comment where bpftool does not write it"},
                      AdversarialHeader{"operator_overload", "line 80: the name 'operator'"},
                      AdversarialHeader{"typedef_function_pointer", "line 8: the name 'typedef'"},
                      AdversarialHeader{"lambda_call", "line 59: a call through an expression ('}' followed by '(')"},
                      AdversarialHeader{"unknown_skeleton_function", "line 59: 'tiny__helper(' is not a function a bpftool light skeleton has"},
                      AdversarialHeader{"skeleton_name_as_variable", "line 80: 'tiny__loader_ptr' used other than as a function or a struct tag"},
                      AdversarialHeader{"redefined_library_function", "line 24: a definition or declaration of 'skel_alloc'"},
                      AdversarialHeader{"comment_as_space", "line 58: a comment where bpftool does not write it"},
                      AdversarialHeader{"typeof_function_table", "line 80: __typeof__ other than bpftool's cast"},
                      AdversarialHeader{"member_call", "line 59: a call through a member ('skel_free(')"},
                      AdversarialHeader{"spaced_function_pointer", "line 59: '(*' (a function pointer)"},
                      AdversarialHeader{"attribute_alias", "line 80: an attribute other than bpftool's"},
                      AdversarialHeader{"shadowing_local", "line 65: bpftool writes 'skel = skel_alloc(sizeof(*skel));' here"},
                      AdversarialHeader{"function_parameter", "line 60: bpftool writes a line of the form 'static inline struct tiny *' here"},
                      AdversarialHeader{"constructor_struct", "line 60: bpftool writes a line of the form 'static inline struct tiny *' here"},
                      AdversarialHeader{"mapped_size_too_small", "line 70: maps 8 bytes for a 8-byte value"},
                      AdversarialHeader{"value_longer_than_literal", "line 70: copies 4096 bytes from a 8-byte literal"},
                      AdversarialHeader{"unmap_more_than_mapped", "line 56: frees 16777216 bytes of 'bss', which open() does not map at that size"},
                      AdversarialHeader{"attach_twice", "line 41: bpftool writes a line of the form 'return ret < 0 ? ret : 0;' here"},
                      AdversarialHeader{"static_data_member", "line 20: a specifier bpftool never writes in a data declaration"}),
    [](const ::testing::TestParamInfo<AdversarialHeader>& i) { return std::string(i.param.file); });

// Damage that is not an attack is refused with the line too.
TEST(AuditLightSkeleton, DamagedHeadersAreRefusedWithTheLine) {
  const std::string good = read_text(std::filesystem::path(BPFSIGN_LSKEL_TESTDATA_DIR) / "form_inline.lskel.h");
  auto unterminated = good.substr(0, good.find("\\x95") + 4);
  auto r = parse_light_skeleton(unterminated, "g.h");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("g.h: line"), std::string::npos) << r.error().message;
  auto bad_escape = good;
  bad_escape.replace(bad_escape.find("\\x01"), 4, "\\q01");
  EXPECT_NE(parse_light_skeleton(bad_escape, "g.h").error().message.find("a literal not in bpftool's form"), std::string::npos);
  auto upper_hex = good;
  upper_hex.replace(upper_hex.find("\\xb7"), 4, "\\xB7");
  EXPECT_FALSE(parse_light_skeleton(upper_hex, "g.h").ok());
  auto zero_as_hex = good;
  zero_as_hex.replace(zero_as_hex.find("\\x01\\0"), 6, "\\x01\\x00");
  EXPECT_NE(parse_light_skeleton(zero_as_hex, "g.h").error().message.find("backslash-x-00"), std::string::npos);
  EXPECT_NE(parse_light_skeleton("int x = bpf_load_and_run;", "g.h").error().message.find("code before '#include"), std::string::npos);
  // A literal on one enormous line (bpftool breaks them at 78 columns) is
  // refused before any pattern reads it.
  std::string long_literal = good;
  const std::size_t at = long_literal.find("\\xb7");
  std::string zeros;
  for (int i = 0; i < 20000; ++i) zeros += "\\0";
  long_literal.insert(at, zeros);
  auto long_refused = parse_light_skeleton(long_literal, "g.h");
  ASSERT_FALSE(long_refused.ok());
  EXPECT_NE(long_refused.error().message.find("characters (bpftool writes none longer"), std::string::npos) << long_refused.error().message;
}

}  // namespace
}  // namespace bpfsign::audit
