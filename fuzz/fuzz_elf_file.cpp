// Any byte string as a BPF object: the reader returns a model or an error,
// never crashes; every section it returns lies inside the input and holds
// the input's bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/program_listing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = bpfsign::object::ElfFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz.o");
  if (!file) return 0;
  for (const auto& s : file->sections()) {
    if (s.data.empty()) continue;
    if (s.offset > size || s.data.size() > size - s.offset) std::abort();
    if (std::memcmp(s.data.data(), data + s.offset, s.data.size()) != 0) std::abort();
  }
  (void)bpfsign::object::list_programs(*file);
  return 0;
}
