// Any byte string as a BPF object, through the whole object reader: a model
// or an error, never a crash or a hang; a model's indices are all in range.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bpfsign/object/model_dump.hpp"
#include "bpfsign/object/object_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace bpfsign::object;
  auto file = ElfFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz.bpf.o");
  if (!file) return 0;
  auto model = read_object(*file);
  if (!model) return 0;
  for (const auto& p : model->programs) {
    for (const auto& r : p.relocations) {
      if (r.insn >= p.insns.size()) std::abort();
      const bool to_function = r.kind == RelocKind::SubprogCall || r.kind == RelocKind::SubprogAddr;
      const bool to_map = r.kind == RelocKind::MapFd || r.kind == RelocKind::MapValue;
      if (to_function && r.target >= p.functions.size()) std::abort();
      if (to_map && r.target >= model->maps.size()) std::abort();
    }
    for (const auto& f : p.functions) {
      if (std::uint64_t{f.start} + f.size > p.insns.size()) std::abort();
    }
    for (const auto& fi : p.func_info) {
      if (fi.insn_off >= p.insns.size()) std::abort();
    }
  }
  (void)dump_json(*model);
  return 0;
}
