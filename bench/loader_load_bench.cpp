// Loaders on this kernel, ours against libbpf's light skeletons (measured by
// tests/oracle/lskel_driver.c --bench in scripts/bench.sh): for each object,
// our loader's instruction count, the instructions the verifier processed to
// accept it, and the mean wall time of a load (metadata map, loader load,
// run, closing everything). Prints one JSON object per line. Needs root.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <string>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/loader_program.hpp"
#include "bpfsign/object/object_reader.hpp"

int main(int argc, char** argv) {
  using namespace bpfsign;
  const int runs = argc > 1 ? std::atoi(argv[1]) : 20;
  for (int i = 2; i < argc; ++i) {
    const std::filesystem::path path = argv[i];
    auto model = object::read_object_file(path);
    if (!model) return std::fprintf(stderr, "%s\n", model.error().message.c_str()), 1;
    auto loader = loader::generate_loader(*model);
    if (!loader) return std::fprintf(stderr, "%s\n", loader.error().message.c_str()), 1;
    // The verifier's count for the loader itself (log level: statistics).
    kernel::ProgLoadRequest req;
    req.prog_type = abi::prog_type::kSyscall;
    req.prog_flags = abi::kProgFlagSleepable;
    req.insns = loader->code;
    req.name = "bpfsign_loader";
    req.log_level = 4;  // BPF_LOG_STATS
    // The metadata map must exist for the loader's map references.
    abi::MapCreateAttr meta;
    meta.map_type = abi::map_type::kArray;
    meta.key_size = 4;
    meta.value_size = static_cast<std::uint32_t>(loader->blob.size());
    meta.max_entries = 1;
    auto meta_fd = kernel::map_create(meta);
    if (!meta_fd.ok()) return std::fprintf(stderr, "metadata map failed\n"), 1;
    const int fds[] = {meta_fd.value().get()};
    req.fd_array = fds;
    long processed = -1;
    if (auto loaded = kernel::prog_load_logged(req); loaded.ok()) {
      std::smatch m;
      if (std::regex_search(loaded->log, m, std::regex("processed ([0-9]+) insns"))) processed = std::stol(m[1]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < runs; ++r) {
      auto loaded = load::run_loader(*loader);
      if (!loaded) return std::fprintf(stderr, "%s\n", loaded.error().message.c_str()), 1;
    }
    const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / runs;
    std::printf("{\"object\": \"%s\", \"loader_insns\": %zu, \"verifier_processed\": %ld, \"ns_per_load\": %.0f}\n",
                path.stem().stem().c_str(), loader->code.size() / 8, processed, ns);
  }
  return 0;
}
