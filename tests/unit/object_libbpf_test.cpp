// Differential test: the object model against what libbpf (Debian's
// libbpf-dev, a test oracle only) hands the kernel for the same object.
// tests/oracle/libbpf_oracle.c records libbpf's BTF_LOAD, MAP_CREATE and
// PROG_LOAD requests without reaching the kernel.
#include <algorithm>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/load/possible_cpus.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "test_support.hpp"

namespace bpfsign::object {
namespace {

using nlohmann::json;

struct Oracle {
  json doc;
  std::vector<std::uint8_t> btf;
};

// `no_autoload`: programs libbpf is told not to load, as a tool does for a
// program whose attach target the kernel lacks.
std::optional<Oracle> run_oracle(const std::filesystem::path& object, const std::vector<std::string>& no_autoload = {}) {
  const auto btf_path = test::temp_dir() / (object.stem().string() + ".libbpf.btf");
  std::string command = std::string(BPFSIGN_LIBBPF_ORACLE) + " " + object.string() + " " + btf_path.string();
  for (const auto& p : no_autoload) command += " " + p;
  auto out = test::run_command(command);
  if (out.status != 0) {
    ADD_FAILURE() << "libbpf oracle failed on " << object << ":\n" << out.err;
    return std::nullopt;
  }
  Oracle o{json::parse(out.out), {}};
  std::ifstream in(btf_path, std::ios::binary);
  o.btf.assign(std::istreambuf_iterator<char>(in), {});
  return o;
}

std::vector<isa::RawInsn> insns_from_hex(const std::string& hex) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  std::vector<isa::RawInsn> out;
  for (std::size_t i = 0; i + isa::kInsnSize <= bytes.size(); i += isa::kInsnSize) out.push_back(isa::raw_from_bytes(bytes.data() + i));
  return out;
}

// Fields libbpf fills with load-time values (fds, kernel BTF ids, CO-RE
// results) where the model keeps placeholders: not compared.
struct Mask {
  bool imm = false, off = false, src = false;
  bool all = false;  // CO-RE: libbpf may rewrite the whole instruction (or poison it)
};

std::vector<Mask> load_time_fields(const ObjectModel& m, const Program& p) {
  std::vector<Mask> mask(p.insns.size());
  for (const auto& r : p.relocations) {
    switch (r.kind) {
      case RelocKind::MapFd: case RelocKind::MapValue: case RelocKind::KconfigValue:
        mask[r.insn].imm = true;
        break;
      case RelocKind::KsymAddr:
        mask[r.insn] = {true, false, m.externs[r.target].weak, false};
        mask[r.insn + 1].imm = true;
        break;
      case RelocKind::KfuncCall:
        mask[r.insn] = {true, true, false, false};
        break;
      case RelocKind::SubprogCall: case RelocKind::SubprogAddr:
        break;
    }
  }
  for (const auto& c : p.core_relos) {
    const std::size_t i = c.insn_off / isa::kInsnSize;
    mask[i].all = true;
    if (p.insns[i].code == 0x18 && i + 1 < mask.size()) mask[i + 1].all = true;
  }
  return mask;
}

// libbpf sizes ring buffers in pages of this machine at open time.
std::uint32_t as_libbpf_sizes(const MapDefinition& d) {
  // An unsized perf event array: one entry per possible CPU.
  if (d.type == abi::map_type::kPerfEventArray && d.max_entries == 0) return *load::possible_cpus();
  if (d.type != abi::map_type::kRingbuf && d.type != abi::map_type::kUserRingbuf) return d.max_entries;
  const std::uint32_t page = static_cast<std::uint32_t>(sysconf(_SC_PAGESIZE));
  if (d.max_entries == 0 || (d.max_entries % page == 0 && ((d.max_entries / page) & (d.max_entries / page - 1)) == 0)) return d.max_entries;
  std::uint64_t size = page;
  while (size <= d.max_entries) size *= 2;
  return static_cast<std::uint32_t>(size);
}

void compare(const ObjectModel& m, const Oracle& o, const std::vector<std::string>& no_autoload = {}) {
  const auto& progs = o.doc["programs"];
  ASSERT_EQ(m.programs.size(), progs.size() + no_autoload.size());
  std::size_t theirs_index = 0;
  for (std::size_t i = 0; i < m.programs.size(); ++i) {
    const Program& p = m.programs[i];
    if (std::find(no_autoload.begin(), no_autoload.end(), p.name) != no_autoload.end()) continue;
    const json& lp = progs[theirs_index++];
    SCOPED_TRACE("program " + p.name);
    EXPECT_EQ(p.name, lp["name"].get<std::string>());
    EXPECT_EQ(p.section, lp["section"].get<std::string>());
    EXPECT_EQ(p.kind.prog_type, lp["type"].get<std::uint64_t>());
    EXPECT_EQ(p.kind.expected_attach_type, lp["expected_attach_type"].get<std::uint64_t>());
    EXPECT_EQ(p.kind.prog_flags, lp["prog_flags"].get<std::uint64_t>());
    EXPECT_EQ(p.insns.size(), lp["insn_cnt"].get<std::uint64_t>());
    EXPECT_EQ(p.func_info.size(), lp["func_info_cnt"].get<std::uint64_t>());
    EXPECT_EQ(p.line_info.size(), lp["line_info_cnt"].get<std::uint64_t>());
    const auto theirs = insns_from_hex(lp["insns"].get<std::string>());
    ASSERT_EQ(theirs.size(), p.insns.size());
    const auto mask = load_time_fields(m, p);
    int mismatches = 0;
    for (std::size_t k = 0; k < theirs.size() && mismatches < 5; ++k) {
      if (mask[k].all) continue;
      isa::RawInsn a = p.insns[k], b = theirs[k];
      if (mask[k].imm) a.imm = b.imm = 0;
      if (mask[k].off) a.off = b.off = 0;
      if (mask[k].src) a.src = b.src = 0;
      if (!(a == b)) {
        ++mismatches;
        ADD_FAILURE() << "instruction " << k << ": ours code 0x" << std::hex << int{a.code} << " dst " << int{a.dst}
                      << " src " << int{a.src} << " off " << std::dec << a.off << " imm " << a.imm << "; libbpf code 0x"
                      << std::hex << int{b.code} << " dst " << int{b.dst} << " src " << int{b.src} << " off " << std::dec
                      << b.off << " imm " << b.imm;
      }
    }
  }
  const auto& maps = o.doc["maps"];
  ASSERT_EQ(m.maps.size(), maps.size());
  for (std::size_t i = 0; i < m.maps.size(); ++i) {
    const Map& map = m.maps[i];
    const json& lm = maps[i];
    SCOPED_TRACE("map " + map.name);
    EXPECT_EQ(map.kernel_name, lm["name"].get<std::string>());
    EXPECT_EQ(map.def.type, lm["type"].get<std::uint64_t>());
    EXPECT_EQ(map.def.key_size, lm["key_size"].get<std::uint64_t>());
    EXPECT_EQ(map.def.value_size, lm["value_size"].get<std::uint64_t>());
    EXPECT_EQ(as_libbpf_sizes(map.def), lm["max_entries"].get<std::uint64_t>());
    EXPECT_EQ(map.def.flags, lm["flags"].get<std::uint64_t>());
  }
  ASSERT_TRUE(m.btf.has_value());
  EXPECT_EQ(m.btf->type_count(), o.doc["btf_types"].get<std::uint64_t>());
  // The fixed-up BTF is byte for byte what libbpf would load.
  EXPECT_EQ(m.btf->serialize(), o.btf);
}

TEST(ObjectVsLibbpf, EveryCorpusObjectMatchesWhatLibbpfWouldLoad) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  int compared = 0;
  for (const auto& path : objects) {
    // libbpf >= 1.0 refuses SEC("maps"); the legacy reader is tested on its own.
    if (path.stem() == "maps_legacy.bpf") continue;
    SCOPED_TRACE(path.filename().string());
    auto model = read_object_file(path);
    ASSERT_TRUE(model.ok()) << model.error().message;
    // Its fentry on a function no kernel has: a tool turns its autoload off.
    std::vector<std::string> no_autoload;
    if (path.stem() == "runtime_settings.bpf") no_autoload.push_back("on_sync_fentry");
    auto oracle = run_oracle(path, no_autoload);
    ASSERT_TRUE(oracle.has_value());
    compare(*model, *oracle, no_autoload);
    ++compared;
  }
  EXPECT_GE(compared, 11);
}

TEST(ObjectVsLibbpf, GeneratedObjectsWithHundredsOfProgramsMatch) {
  const std::filesystem::path dir = BPFSIGN_SCALE_DIR;
  if (dir.empty()) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  for (const char* name : {"progs_200.bpf.o", "progs_1000.bpf.o"}) {
    SCOPED_TRACE(name);
    auto model = read_object_file(dir / name);
    ASSERT_TRUE(model.ok()) << model.error().message;
    auto oracle = run_oracle(dir / name);
    ASSERT_TRUE(oracle.has_value());
    compare(*model, *oracle);
  }
}

}  // namespace
}  // namespace bpfsign::object
