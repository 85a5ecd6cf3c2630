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

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <malloc.h>

#include <chrono>
#include <cstdarg>
#include <filesystem>
#include <optional>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/object/elf_file.hpp"
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

// Both readers in turn within each iteration (in alternating order), each
// timed on its own: slow phases of this VM (they last seconds) then hit both
// sides alike, and the `ratio` counter (ours / libbpf's open) is what the
// target is judged by.
void BM_ReadVsOpenPaired(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const auto path = object_for(static_cast<int>(state.range(0)));
  state.SetLabel(path.filename().string());
  libbpf_set_print(silent);
  Clock::duration ours{}, theirs{};
  bool ours_first = true;  // the order alternates: neither always runs after the other's frees
  for (auto _ : state) {
    std::optional<bpfsign::Result<bpfsign::object::ObjectModel>> model;
    bpf_object* obj = nullptr;
    auto run_ours = [&] {
      const auto t0 = Clock::now();
      model.emplace(bpfsign::object::read_object_file(path));
      ours += Clock::now() - t0;
    };
    auto run_theirs = [&] {
      const auto t0 = Clock::now();
      obj = bpf_object__open_file(path.c_str(), nullptr);
      theirs += Clock::now() - t0;
    };
    if (ours_first) {
      run_ours();
      run_theirs();
    } else {
      run_theirs();
      run_ours();
    }
    ours_first = !ours_first;
    if (!*model || obj == nullptr) {
      state.SkipWithError("a reader failed");
      bpf_object__close(obj);
      return;
    }
    benchmark::DoNotOptimize((**model).programs.data());
    bpf_object__close(obj);
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["ours_us"] = std::chrono::duration<double, std::micro>(ours).count() / n;
  state.counters["libbpf_us"] = std::chrono::duration<double, std::micro>(theirs).count() / n;
  state.counters["ratio"] = static_cast<double>(ours.count()) / static_cast<double>(theirs.count());
}

}  // namespace

BENCHMARK(BM_ReadVsOpenPaired)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadObject)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibbpfOpen)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibbpfOpenLoadNoKernel)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

namespace {
// The BTF part of the read, against libbpf's btf__new (which checks
// almost nothing: the kernel does, at load).
std::vector<std::uint8_t> section_bytes(const std::filesystem::path& path, std::string_view name) {
  auto elf = bpfsign::object::ElfFile::open(path);
  if (!elf) return {};
  const auto* s = elf->find_section(name);
  if (s == nullptr) return {};
  return {s->data.begin(), s->data.end()};
}

void BM_BtfParse(benchmark::State& state) {
  const auto bytes = section_bytes(object_for(static_cast<int>(state.range(0))), ".BTF");
  for (auto _ : state) {
    auto btf = bpfsign::btf::Btf::parse(bytes);
    if (!btf) {
      state.SkipWithError(btf.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(btf->type_count());
  }
}
void BM_LibbpfBtfNew(benchmark::State& state) {
  const auto bytes = section_bytes(object_for(static_cast<int>(state.range(0))), ".BTF");
  for (auto _ : state) {
    btf* b = btf__new(bytes.data(), static_cast<__u32>(bytes.size()));
    if (b == nullptr) {
      state.SkipWithError("btf__new failed");
      return;
    }
    benchmark::DoNotOptimize(b);
    btf__free(b);
  }
}
}  // namespace
BENCHMARK(BM_BtfParse)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibbpfBtfNew)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
