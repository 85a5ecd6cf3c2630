// A BPF ELF object's sections and symbols, read with libelf and checked
// against the bytes that exist. This is the only place that sees ELF
// structures; later stages work on the model built from it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"

struct Elf;  // libelf's handle

namespace bpfsign::object {

struct ElfSection {
  std::size_t index = 0;
  std::string_view name;    // into ElfFile's image of the file
  std::uint32_t type = 0;   // SHT_*
  std::uint64_t flags = 0;  // SHF_*
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t link = 0;
  std::uint32_t info = 0;
  std::uint64_t addralign = 0;
  std::uint64_t entsize = 0;
  Bytes data;  // empty for SHT_NOBITS and unloaded sections; points into ElfFile's buffer
  bool loaded = false;  // false for debug sections and relocations nothing applies (no data)

  bool is_program() const;  // executable code (SHF_EXECINSTR, SHT_PROGBITS)
};

struct ElfSymbol {
  std::size_t index = 0;
  std::string_view name;  // into the owning ElfFile's string table
  std::uint16_t section = 0;  // st_shndx
  std::uint64_t value = 0;
  std::uint64_t size = 0;
  std::uint8_t type = 0;  // STT_*
  std::uint8_t bind = 0;  // STB_*
  std::uint8_t visibility = 0;
};

// Move-only: the sections' data spans point into the owned buffer, which a
// move keeps in place and a copy would not. Debug sections (.debug_*) are
// listed but get no data: nothing that loads a program needs them.
class ElfFile {
 public:
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ElfFile(ElfFile&&) noexcept = default;
  ElfFile& operator=(ElfFile&&) noexcept = default;
  ~ElfFile() = default;

  // Parses an object held in memory; `display_name` names it in errors.
  static Result<ElfFile> parse(std::vector<std::uint8_t> bytes, std::string display_name);
  static Result<ElfFile> open(const std::filesystem::path& path);

  const std::string& name() const { return name_; }
  std::uint64_t file_size() const { return file_size_; }
  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  const ElfSection* find_section(std::string_view name) const;
  const ElfSection* section_by_index(std::size_t index) const;

 private:
  ElfFile() = default;
  // Takes the whole file's bytes as the image everything points into.
  static Result<ElfFile> load(std::vector<std::uint8_t> image, std::string display_name);
  // Checks the image and fills sections_ and symbols_ from it.
  Status index();

  std::string name_;
  std::uint64_t file_size_ = 0;
  // The whole file's bytes, every one read from the file; section names,
  // symbol names and sections' data spans point in here.
  std::vector<std::uint8_t> image_;
  std::vector<ElfSection> sections_;
  std::vector<ElfSymbol> symbols_;
};

}  // namespace bpfsign::object
