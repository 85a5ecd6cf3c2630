// Any byte string as a BPF object: the reader returns a model or an error,
// never crashes; every section it returns lies inside the input.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "bpfsign/object/elf_file.hpp"
#include "bpfsign/object/program_listing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = bpfsign::object::ElfFile::parse(std::vector<std::uint8_t>(data, data + size), "fuzz.o");
  if (!file) return 0;
  const auto all = file->storage();
  for (const auto& s : file->sections()) {
    if (s.data.empty()) continue;
    if (s.data.data() < all.data() || s.data.data() + s.data.size() > all.data() + all.size()) std::abort();
  }
  (void)bpfsign::object::list_programs(*file);
  return 0;
}
