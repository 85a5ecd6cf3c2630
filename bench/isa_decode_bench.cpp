// Decoder and disassembler throughput over the corpus' real code, reported
// as instructions per second. The peer is a plain copy of the raw 8-byte
// slots (what a loader does without decoding), so the ratio says what the
// typed model costs over touching the bytes at all.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/object/elf_file.hpp"

namespace {

// All program sections of the corpus, concatenated section by section.
const std::vector<std::vector<std::uint8_t>>& corpus_code() {
  static const auto code = [] {
    std::vector<std::vector<std::uint8_t>> out;
    const std::filesystem::path dir = BPFSIGN_CORPUS_DIR;
    if (dir.empty() || !std::filesystem::exists(dir)) return out;
    std::vector<std::filesystem::path> objs;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      if (e.path().string().ends_with(".bpf.o")) objs.push_back(e.path());
    }
    std::sort(objs.begin(), objs.end());
    for (const auto& p : objs) {
      auto file = bpfsign::object::ElfFile::open(p);
      if (!file) continue;
      for (const auto& s : file->sections()) {
        if (s.is_program()) out.emplace_back(s.data.begin(), s.data.end());
      }
    }
    return out;
  }();
  return code;
}

std::size_t total_slots() {
  std::size_t n = 0;
  for (const auto& s : corpus_code()) n += s.size() / bpfsign::isa::kInsnSize;
  return n;
}

// Instructions per second: every iteration covers every corpus slot once.
void report_rate(benchmark::State& state) {
  state.counters["insns/s"] =
      benchmark::Counter(static_cast<double>(total_slots()), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_CopyRawSlots(benchmark::State& state) {
  std::vector<bpfsign::isa::RawInsn> raws(total_slots());
  for (auto _ : state) {
    std::size_t i = 0;
    for (const auto& s : corpus_code()) {
      for (std::size_t off = 0; off < s.size(); off += bpfsign::isa::kInsnSize) {
        raws[i++] = bpfsign::isa::raw_from_bytes(s.data() + off);
      }
    }
    benchmark::DoNotOptimize(raws.data());
  }
  report_rate(state);
}
BENCHMARK(BM_CopyRawSlots);

void BM_DecodeProgram(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& s : corpus_code()) {
      auto r = bpfsign::isa::decode_program(s);
      benchmark::DoNotOptimize(r);
    }
  }
  report_rate(state);
}
BENCHMARK(BM_DecodeProgram);

void BM_DecodeEncodeRoundTrip(benchmark::State& state) {
  for (auto _ : state) {
    for (const auto& s : corpus_code()) {
      auto r = bpfsign::isa::decode_program(s);
      std::vector<bpfsign::isa::Instruction> prog;
      prog.reserve(r->size());
      for (auto& p : *r) prog.push_back(p.insn);
      auto bytes = bpfsign::isa::encode_program(prog);
      benchmark::DoNotOptimize(bytes);
    }
  }
  report_rate(state);
}
BENCHMARK(BM_DecodeEncodeRoundTrip);

void BM_Disassemble(benchmark::State& state) {
  std::vector<std::vector<bpfsign::isa::PlacedInstruction>> decoded;
  for (const auto& s : corpus_code()) decoded.push_back(std::move(bpfsign::isa::decode_program(s)).value());
  for (auto _ : state) {
    for (const auto& d : decoded) {
      auto text = bpfsign::isa::disassemble(d);
      benchmark::DoNotOptimize(text);
    }
  }
  report_rate(state);
}
BENCHMARK(BM_Disassemble);

}  // namespace
