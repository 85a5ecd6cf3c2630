// Reading a BPF object into a loadable model: bpfsign's reader against
// libbpf (Debian's, linked only here) on the largest corpus object and a
// generated 1,000-program object, reading the file from the page cache on
// every iteration. Two peers:
//  - bpf_object__open_file: libbpf's parse, without linking subprograms,
//    CO-RE/func_info/line_info per program or BTF fixups (done at load);
//  - open + bpf_object__load with bpf(2) answered in-process
//    (tests/oracle/fake_bpf.c): the same work as ours, the point where
//    libbpf holds what our model holds.
#include <benchmark/benchmark.h>

#include <bpf/libbpf.h>

#include <malloc.h>

#include <cstdarg>
#include <filesystem>

#include "bpfsign/object/object_reader.hpp"

extern "C" {
#include "fake_bpf.h"
}

namespace {

// Keep freed memory in the process: otherwise glibc returns large freed
// blocks to the kernel and every iteration pays page faults again, which on
// this VM cost more than the work measured (~3 us each) and swamp both
// sides. A one-shot CLI run faults once either way.
const bool kMallocTuned = [] {
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  return true;
}();

std::filesystem::path largest_corpus_object() {
  std::filesystem::path best;
  std::uintmax_t best_size = 0;
  const std::filesystem::path dir = BPFSIGN_CORPUS_DIR;
  if (dir.empty() || !std::filesystem::exists(dir)) return best;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().string().ends_with(".bpf.o") && e.file_size() > best_size) {
      best = e.path();
      best_size = e.file_size();
    }
  }
  return best;
}

std::filesystem::path object_for(int which) {
  if (which == 0) return largest_corpus_object();
  return std::filesystem::path(BPFSIGN_SCALE_DIR) / "progs_1000.bpf.o";
}

void BM_ReadObject(benchmark::State& state) {
  const auto path = object_for(static_cast<int>(state.range(0)));
  state.SetLabel(path.filename().string());
  for (auto _ : state) {
    auto model = bpfsign::object::read_object_file(path);
    if (!model) {
      state.SkipWithError(model.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(model->programs.data());
  }
}

int silent(enum libbpf_print_level, const char*, va_list) { return 0; }

void BM_LibbpfOpen(benchmark::State& state) {
  const auto path = object_for(static_cast<int>(state.range(0)));
  state.SetLabel(path.filename().string());
  libbpf_set_print(silent);
  for (auto _ : state) {
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (obj == nullptr) {
      state.SkipWithError("bpf_object__open_file failed");
      return;
    }
    benchmark::DoNotOptimize(obj);
    bpf_object__close(obj);
  }
}

void BM_LibbpfOpenLoadNoKernel(benchmark::State& state) {
  const auto path = object_for(static_cast<int>(state.range(0)));
  state.SetLabel(path.filename().string());
  libbpf_set_print(silent);
  fake_bpf_record = 0;
  for (auto _ : state) {
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (obj == nullptr || bpf_object__load(obj) != 0) {
      state.SkipWithError("libbpf open/load failed");
      return;
    }
    benchmark::DoNotOptimize(obj);
    bpf_object__close(obj);
  }
}

}  // namespace

BENCHMARK(BM_ReadObject)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibbpfOpen)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibbpfOpenLoadNoKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
