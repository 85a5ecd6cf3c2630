// bpfsign inspect: symbolic decoding of a loader against plain
// disassembly of the same instructions (the least any reader must do), on
// the largest corpus loader (many_progs, 64 programs) and the generated
// 1,000-program object. scripts/bench.sh prints the ratio.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/isa/encode.hpp"
#include "bpfsign/object/object_reader.hpp"

namespace {

struct Subject {
  std::vector<std::uint8_t> code, blob;
};

const Subject& subject(int which) {
  static std::map<int, Subject> cache;
  auto it = cache.find(which);
  if (it != cache.end()) return it->second;
  const auto path = which == 0 ? std::filesystem::path(BPFSIGN_CORPUS_DIR) / "many_progs.bpf.o"
                               : std::filesystem::path(BPFSIGN_SCALE_DIR) / "progs_1000.bpf.o";
  auto model = bpfsign::object::read_object_file(path);
  if (!model) throw std::runtime_error(model.error().message);
  auto loader = bpfsign::loader::generate_loader(*model);
  if (!loader) throw std::runtime_error(loader.error().message);
  Subject s{bpfsign::loader::encode_loader(*loader, bpfsign::loader::LoaderVariant::LoaderChecked), loader->blob};
  return cache.emplace(which, std::move(s)).first->second;
}

void BM_InspectLoader(benchmark::State& state) {
  const Subject& s = subject(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto d = bpfsign::audit::decode_loader(s.code, s.blob);
    if (!d || !d->unexplained.empty()) state.SkipWithError("loader not fully explained");
    benchmark::DoNotOptimize(d);
  }
  state.counters["insns"] = static_cast<double>(s.code.size() / 8);
}

void BM_DisassembleLoader(benchmark::State& state) {
  const Subject& s = subject(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto insns = bpfsign::isa::decode_program(s.code);
    std::string text = bpfsign::isa::disassemble(*insns);
    benchmark::DoNotOptimize(text);
  }
}

}  // namespace

BENCHMARK(BM_InspectLoader)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DisassembleLoader)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
