#include "bpfsign/object/program_listing.hpp"

#include <elf.h>

#include "bpfsign/isa/decode.hpp"

namespace bpfsign::object {

Result<std::vector<SectionListing>> list_programs(const ElfFile& file, std::optional<std::string_view> only_section) {
  std::vector<SectionListing> out;
  for (const auto& sec : file.sections()) {
    if (!sec.is_program() || sec.size == 0) continue;  // clang emits an empty .text
    if (only_section && sec.name != *only_section) continue;
    auto insns = isa::decode_program(sec.data);
    if (!insns) return insns.error().with_context(fmt::format("{}: section {} ({})", file.name(), sec.index, sec.name));
    SectionListing listing{&sec, std::move(insns).value(), {}};
    for (const auto& sym : file.symbols()) {
      if (sym.section != sec.index || sym.type != STT_FUNC) continue;
      if (sym.value % isa::kInsnSize != 0) {
        return bad_input("{}: symbol {} ({}) at offset {} of section {} is not on an instruction boundary",
                         file.name(), sym.index, sym.name, sym.value, sec.name);
      }
      listing.labels[static_cast<std::size_t>(sym.value / isa::kInsnSize)] = sym.name;
    }
    out.push_back(std::move(listing));
  }
  if (only_section && out.empty()) {
    return bad_input("{}: no executable section named '{}'", file.name(), *only_section);
  }
  return out;
}

}  // namespace bpfsign::object
