// The code of an object, section by section: decoded instructions and the
// function symbols that label them. Used by `bpfsign disasm` and the tests
// that compare our decoder with llvm-objdump.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/isa/instruction.hpp"
#include "bpfsign/object/elf_file.hpp"

namespace bpfsign::object {

struct SectionListing {
  const ElfSection* section = nullptr;
  std::vector<isa::PlacedInstruction> instructions;
  std::map<std::size_t, std::string> labels;  // slot index -> function name
};

// Decodes every executable section, or only `only_section` when given.
Result<std::vector<SectionListing>> list_programs(const ElfFile& file,
                                                  std::optional<std::string_view> only_section = {});

}  // namespace bpfsign::object
