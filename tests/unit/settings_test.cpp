// Runtime settings without a kernel: the declaration file's parser and its
// refusals, resolution against an object (every name found, every bound
// fitting what it bounds), the manifest's records, the runtime's early
// check, and the decoder's account of a loader that takes settings.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/audit/settings_check.hpp"

#include <cstring>
#include "bpfsign/load/runtime_settings.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/settings.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace bpfsign::loader {
namespace {

Result<SettingsDeclaration> parse(const std::string& text) {
  return parse_settings_declaration(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), "decl.json");
}

std::vector<std::uint8_t> corpus_declaration() {
  std::ifstream in(std::filesystem::path(BPFSIGN_SOURCE_DIR) / "testdata/bpf/runtime_settings.settings.json", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::optional<object::ObjectModel> corpus_model() {
  const std::string dir = BPFSIGN_CORPUS_DIR;
  if (dir.empty()) return std::nullopt;
  auto m = object::read_object_file(std::filesystem::path(dir) / "runtime_settings.bpf.o");
  EXPECT_TRUE(m.ok()) << m.error().message;
  return std::move(m).value();
}

TEST(SettingsDeclaration, MalformedDeclarationsAreRefusedNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1]", "expected a JSON object"},
      {"{\"variables\": {\"x\": {\"min\": 1}}}", "variables.x: a range needs both"},
      {"{\"variables\": {\"x\": {\"min\": 1, \"max\": 2, \"values\": [1]}}}", "not both"},
      {"{\"variables\": {\"x\": {\"values\": []}}}", "variables.x.values: expected a list of 1 to 64"},
      {"{\"variables\": {\"x\": {\"values\": [1.5]}}}", "variables.x.values[0]: expected an integer"},
      {"{\"variables\": {\"x\": {\"min\": \"1\", \"max\": 2}}}", "variables.x.min: expected an integer"},
      {"{\"variables\": {\"x\": {\"mni\": 1}}}", "unknown key 'mni'"},
      {"{\"varaibles\": {}}", "unknown key 'varaibles'"},
      {"{\"optional_programs\": {\"p\": {\"fallback\": \"q\"}}}", "unknown key 'fallback'"},
      {"{\"optional_programs\": {\"p\": {\"fallback_for\": 3}}}", "fallback_for: expected a program name"},
      {"{\"max_entries\": []}", "max_entries: expected an object"},
      {"{\"variables\": {", "not JSON"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    auto d = parse(text);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("decl.json"), std::string::npos) << d.error().message;
    EXPECT_NE(d.error().message.find(expected), std::string::npos) << d.error().message;
  }
}

TEST(SettingsDeclaration, NamesAndBoundsAreCheckedAgainstTheObject) {
  auto model = corpus_model();
  if (!model) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"variables\": {\"nope\": {\"values\": [1]}}}", "no global variable 'nope'"},
      {"{\"variables\": {\"step\": {\"min\": -1, \"max\": 5}}}", "min -1 does not fit: the value must lie in 0..4294967295"},
      {"{\"variables\": {\"verbose\": {\"values\": [2]}}}", "value 2 does not fit: the value must lie in 0..1"},
      {"{\"variables\": {\"delta\": {\"min\": -2147483649, \"max\": 0}}}", "does not fit"},
      {"{\"variables\": {\"delta\": {\"min\": 5, \"max\": -5}}}", "min 5 is above max -5"},
      {"{\"variables\": {\"step\": {\"values\": [1, 1]}}}", "value 1 is listed twice"},
      {"{\"max_entries\": {\"nope\": {\"min\": 1, \"max\": 2}}}", "no map 'nope'"},
      {"{\"max_entries\": {\"perf_events\": {\"min\": 1, \"max\": 2}}}", "sized by the machine's possible CPUs"},
      {"{\"max_entries\": {\"counts\": {\"min\": 0, \"max\": 2}}}", "min 0 does not fit"},
      {"{\"max_entries\": {\"counts\": {\"min\": 1, \"max\": 4294967295}}}", "max 4294967295 does not fit"},
      {"{\"optional_programs\": {\"nope\": {}}}", "no program 'nope'"},
      {"{\"optional_programs\": {\"on_sync_kprobe\": {\"fallback_for\": \"on_sync_fentry\"}}}", "that program must be optional too"},
      {"{\"optional_programs\": {\"on_sync_kprobe\": {\"fallback_for\": \"on_sync_kprobe\"}}}", "its own fallback"},
  };
  for (const auto& [text, expected] : cases) {
    SCOPED_TRACE(text);
    auto d = parse(text);
    ASSERT_TRUE(d.ok()) << d.error().message;
    auto s = resolve_settings(*d, *model);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().message.find(expected), std::string::npos) << s.error().message;
  }
  // Global data sections are maps too, but their size is their section's.
  auto d = parse("{\"max_entries\": {\".bss\": {\"min\": 1, \"max\": 2}}}");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(resolve_settings(*d, *model).ok());
}

TEST(SettingsDeclaration, TheCorpusDeclarationResolvesAndTravelsInTheManifest) {
  auto model = corpus_model();
  if (!model) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  auto d = parse_settings_declaration(corpus_declaration(), "runtime_settings.settings.json");
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto generated = generate_loader(*model, *d);
  ASSERT_TRUE(generated.ok()) << generated.error().message;
  ASSERT_EQ(generated->settings.size(), 10u);
  const Setting& delta = generated->settings[0];
  EXPECT_EQ(delta.name, "delta");
  EXPECT_TRUE(delta.is_signed);
  EXPECT_EQ(delta.allowed_text(), "-100..100");
  EXPECT_TRUE(delta.allows(static_cast<std::uint64_t>(-100)));
  EXPECT_FALSE(delta.allows(static_cast<std::uint64_t>(-101)));
  EXPECT_FALSE(delta.allows(0x100000000ull)) << "compared on 64 bits: no truncation lets it in";

  LoaderProgram parsed;
  ASSERT_TRUE(parse_manifest(serialize_manifest(*generated), parsed).ok());
  ASSERT_EQ(parsed.settings.size(), generated->settings.size());
  for (std::size_t i = 0; i < parsed.settings.size(); ++i) {
    EXPECT_EQ(parsed.settings[i].name, generated->settings[i].name);
    EXPECT_EQ(parsed.settings[i].allowed_text(), generated->settings[i].allowed_text());
    EXPECT_EQ(parsed.settings[i].fallback_for, generated->settings[i].fallback_for);
  }
  // The declaration read back from the manifest generates the same loader
  // (bpfsign reproduce relies on it).
  auto again = generate_loader(*model, declaration_of(parsed.settings, parsed.programs));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->code, generated->code);
  EXPECT_EQ(again->blob, generated->blob);

  // Every byte of the settings records is checked: a flipped byte either
  // still parses into a consistent manifest or is refused, never crashes.
  const auto bytes = serialize_manifest(*generated);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto flipped = bytes;
    flipped[i] ^= 0x80;
    LoaderProgram p;
    (void)parse_manifest(flipped, p);
  }
  // Without a declaration, nothing is settable and no check is emitted.
  auto plain = generate_loader(*model);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->settings.empty());
  EXPECT_LT(plain->code.size(), generated->code.size());
}

TEST(SettingsDeclaration, TheDecoderExplainsEveryCheckAndNamesEveryInput) {
  auto model = corpus_model();
  if (!model) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  auto d = parse_settings_declaration(corpus_declaration(), "runtime_settings.settings.json");
  ASSERT_TRUE(d.ok());
  auto generated = generate_loader(*model, *d);
  ASSERT_TRUE(generated.ok());
  auto decoded = audit::decode_loader(generated->code, generated->blob);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  for (const auto& u : decoded->unexplained) ADD_FAILURE() << u.pc << " " << u.instruction << " -- " << u.why;
  std::size_t loads = 0;
  for (const auto& c : decoded->commands) loads += c.kind == "PROG_LOAD";
  EXPECT_EQ(loads, model->programs.size()) << "optional programs and fallbacks are all on the path the decoder lists";
  bool step_bounds = false;
  for (const auto& in : decoded->inputs) {
    if (in.context_offset == generated->context.setting_value(1)) step_bounds = in.what.find("only when it is one of 1, 2, 5") != std::string::npos;
  }
  EXPECT_TRUE(step_bounds) << "inputs name the setting 'step' with its allowed values";
  LoaderProgram declared;
  ASSERT_TRUE(parse_manifest(serialize_manifest(*generated), declared).ok());
  EXPECT_TRUE(audit::settings_mismatches(declared, *decoded).empty()) << "the declaration is what the loader enforces";

  // A bound check patched to jump nowhere (`if r2 s> 100 goto +0`): the
  // value reaches the store on a path with no upper bound, and inspect's
  // cross-check says so.
  auto code = generated->code;
  bool patched = false;
  for (std::size_t i = 0; i + 8 <= code.size() && !patched; i += 8) {
    std::int32_t imm = 0;
    std::memcpy(&imm, &code[i + 4], 4);
    if (code[i] == 0x65 /* BPF_JMP | BPF_JSGT | BPF_K */ && imm == 100) {
      code[i + 2] = 0;
      code[i + 3] = 0;
      patched = true;
    }
  }
  ASSERT_TRUE(patched);
  auto tampered = audit::decode_loader(code, generated->blob);
  ASSERT_TRUE(tampered.ok());
  const auto mismatches = audit::settings_mismatches(declared, *tampered);
  ASSERT_EQ(mismatches.size(), 1u);
  EXPECT_NE(mismatches[0].find("variable 'delta'"), std::string::npos) << mismatches[0];
  EXPECT_NE(mismatches[0].find("any value"), std::string::npos) << mismatches[0];

  // The store after that check widened to 8 bytes (delta's value spilling
  // into verbose): the declaration says 4 bytes at +8 of .rodata.
  auto wide = generated->code;
  for (std::size_t i = 0; i + 16 <= wide.size(); i += 8) {
    std::int32_t imm = 0;
    std::memcpy(&imm, &wide[i + 4], 4);
    if (wide[i] == 0x65 && imm == 100 && wide[i + 8] == 0x63 /* BPF_STX | BPF_MEM | BPF_W */) {
      wide[i + 8] = 0x7b;  // BPF_STX | BPF_MEM | BPF_DW
      break;
    }
  }
  auto widened = audit::decode_loader(wide, generated->blob);
  ASSERT_TRUE(widened.ok());
  const auto store = audit::settings_mismatches(declared, *widened);
  ASSERT_FALSE(store.empty());
  EXPECT_NE(store[0].find("but the loader stores it into"), std::string::npos) << store[0];

  // A branch off the main path that jumps back: unexplained.
  auto back = generated->code;
  for (std::size_t i = 0; i + 8 <= back.size(); i += 8) {
    std::int32_t imm = 0;
    std::memcpy(&imm, &back[i + 4], 4);
    if (back[i] == 0x65 && imm == 100) {
      const std::int16_t off = -4;
      std::memcpy(&back[i + 2], &off, 2);
      break;
    }
  }
  auto backwards = audit::decode_loader(back, generated->blob);
  ASSERT_TRUE(backwards.ok());
  EXPECT_FALSE(backwards->unexplained.empty()) << "a jump back off the main path is unexplained";
}

TEST(RuntimeSettings, TheRuntimeRefusesWhatTheSignerDidNotAllow) {
  auto model = corpus_model();
  if (!model) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  auto d = parse_settings_declaration(corpus_declaration(), "runtime_settings.settings.json");
  ASSERT_TRUE(d.ok());
  auto generated = generate_loader(*model, *d);
  ASSERT_TRUE(generated.ok());
  using load::RuntimeSettings;
  const std::vector<std::pair<RuntimeSettings, std::string>> cases = {
      {{{{"calls", "1"}}, {}, {}}, "'calls' is not declared settable (declared: delta, step, targ_tgid, verbose)"},
      {{{{"step", "3"}}, {}, {}}, "--set step=3: outside what the signer allows (one of 1, 2, 5)"},
      {{{{"step", "five"}}, {}, {}}, "not an integer"},
      {{{{"step", "-1"}}, {}, {}}, "this setting is unsigned"},
      {{{{"step", "1"}, {"step", "2"}}, {}, {}}, "given twice"},
      {{{}, {{"counts", "1"}}, {}}, "outside what the signer allows (64..65536)"},
      {{{}, {{"events", "0x1000001"}}, {}}, "outside what the signer allows"},
      {{{}, {}, {"count_chdir"}}, "'count_chdir' is not declared settable"},
  };
  for (const auto& [settings, expected] : cases) {
    SCOPED_TRACE(expected);
    auto area = load::encode_settings(*generated, settings);
    ASSERT_FALSE(area.ok());
    EXPECT_EQ(area.error().kind, ErrorKind::Usage);
    EXPECT_NE(area.error().message.find(expected), std::string::npos) << area.error().message;
  }
  auto area = load::encode_settings(*generated, RuntimeSettings{{{"delta", "-0x10"}, {"step", "2"}}, {{"counts", "64"}}, {"on_sync_fentry"}});
  ASSERT_TRUE(area.ok()) << area.error().message;
  ASSERT_EQ(area->size(), ContextLayout::kSettingRecordSize * generated->settings.size());
  std::int64_t delta = 0;
  std::uint32_t given = 0;
  std::memcpy(&delta, area->data(), 8);
  std::memcpy(&given, area->data() + 8, 4);
  EXPECT_EQ(delta, -16);
  EXPECT_EQ(given, 1u);
  EXPECT_TRUE(load::encode_settings(*generated, RuntimeSettings{{{"step", "3"}}, {}, {}}, false).ok()) << "unchecked: tests only";
}

}  // namespace
}  // namespace bpfsign::loader
