// Hardening of the ELF reader: take a good corpus object, break one field,
// and check that the reader refuses it with a message naming what broke.
#include <gtest/gtest.h>

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/object/elf_file.hpp"
#include "test_support.hpp"

namespace bpfsign::object {
namespace {

std::vector<std::uint8_t> good_object() {
  auto objects = test::corpus_objects();
  if (objects.empty()) return {};
  auto bytes = read_file(objects.front());
  return bytes ? std::move(bytes).value() : std::vector<std::uint8_t>{};
}

void expect_refused(std::vector<std::uint8_t> bytes, const std::string& fragment) {
  auto file = ElfFile::parse(std::move(bytes), "broken.o");
  ASSERT_FALSE(file.ok()) << "accepted, expected: " << fragment;
  EXPECT_NE(file.error().message.find(fragment), std::string::npos) << file.error().message;
  EXPECT_EQ(file.error().message.rfind("broken.o", 0), 0u) << file.error().message;
}

Elf64_Ehdr header_of(const std::vector<std::uint8_t>& b) {
  Elf64_Ehdr h;
  std::memcpy(&h, b.data(), sizeof h);
  return h;
}

// Index and header of the first section of `type` with data, or 0.
std::pair<std::size_t, Elf64_Shdr> first_section_of_type(const std::vector<std::uint8_t>& b, std::uint32_t type) {
  const auto h = header_of(b);
  for (std::size_t i = 1; i < h.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, b.data() + h.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    if (sh.sh_type == type && sh.sh_size != 0) return {i, sh};
  }
  return {0, Elf64_Shdr{}};
}

TEST(ElfFile, ReadsEveryCorpusObject) {
  auto objects = test::corpus_objects();
  ASSERT_FALSE(objects.empty());
  for (const auto& obj : objects) {
    auto file = ElfFile::open(obj);
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_NE(file->find_section("license"), nullptr) << obj;
    EXPECT_NE(file->find_section(".BTF"), nullptr) << obj;
    EXPECT_FALSE(file->symbols().empty());
  }
}

// Sections are found by their offsets wherever they lie: these variants
// move everything away from clang's layout (padding after the ELF header,
// padding before the header table). Each variant, read from a file, must
// give the same sections, bytes and symbols as the original read from
// memory.
std::vector<std::uint8_t> with_padding(const std::vector<std::uint8_t>& b, std::size_t after_header, std::size_t before_table) {
  auto h = header_of(b);
  if (h.e_shoff + std::uint64_t{h.e_shnum} * sizeof(Elf64_Shdr) != b.size()) return {};  // table not last: not clang's layout
  std::vector<std::uint8_t> out(b.begin(), b.begin() + sizeof(Elf64_Ehdr));
  out.resize(out.size() + after_header, 0);
  out.insert(out.end(), b.begin() + sizeof(Elf64_Ehdr), b.begin() + static_cast<std::ptrdiff_t>(h.e_shoff));
  out.resize(out.size() + before_table, 0);
  const std::size_t table_at = out.size();
  out.insert(out.end(), b.begin() + static_cast<std::ptrdiff_t>(h.e_shoff), b.end());
  for (std::size_t i = 1; i < h.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, out.data() + table_at + i * sizeof sh, sizeof sh);
    if (sh.sh_offset >= sizeof(Elf64_Ehdr)) sh.sh_offset += after_header;
    std::memcpy(out.data() + table_at + i * sizeof sh, &sh, sizeof sh);
  }
  h.e_shoff = table_at;
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

TEST(ElfFile, ReadsTheSameWhereverSectionsLie) {
  auto objects = test::corpus_objects();
  ASSERT_FALSE(objects.empty());
  const auto dir = test::temp_dir();
  for (const auto& obj : objects) {
    auto bytes = read_file(obj);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    auto original = ElfFile::parse(*bytes, obj.filename().string());
    ASSERT_TRUE(original.ok()) << original.error().message;
    for (const auto& [after_header, before_table] : {std::pair<std::size_t, std::size_t>{0, 0}, {65536, 0}, {0, 65536}, {65536, 65536}}) {
      const auto variant = with_padding(*bytes, after_header, before_table);
      ASSERT_FALSE(variant.empty()) << obj << ": the section header table is not at the end";
      const auto path = dir / "variant.o";
      ASSERT_TRUE(write_file_atomic(path, variant).ok());
      auto file = ElfFile::open(path);
      ASSERT_TRUE(file.ok()) << obj << " +" << after_header << "/+" << before_table << ": " << file.error().message;
      const std::string where = obj.filename().string() + " +" + std::to_string(after_header) + "/+" + std::to_string(before_table);
      ASSERT_EQ(file->sections().size(), original->sections().size()) << where;
      for (std::size_t i = 0; i < original->sections().size(); ++i) {
        const ElfSection& a = original->sections()[i];
        const ElfSection& b = file->sections()[i];
        EXPECT_EQ(b.name, a.name) << where;
        EXPECT_EQ(b.loaded, a.loaded) << where << " " << a.name;
        ASSERT_EQ(b.data.size(), a.data.size()) << where << " " << a.name;
        EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin())) << where << " " << a.name;
      }
      ASSERT_EQ(file->symbols().size(), original->symbols().size()) << where;
      for (std::size_t i = 0; i < original->symbols().size(); ++i) {
        EXPECT_EQ(file->symbols()[i].name, original->symbols()[i].name) << where;
      }
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(ElfFile, RefusesEmptyAndNonElfInput) {
  expect_refused({}, "not an ELF file");
  expect_refused({'h', 'e', 'l', 'l', 'o'}, "not an ELF file");
}

TEST(ElfFile, RefusesWrongClassEndiannessMachineAndType) {
  auto good = good_object();
  ASSERT_FALSE(good.empty());
  auto b = good;
  b[EI_CLASS] = ELFCLASS32;
  expect_refused(b, "ELFCLASS64");
  b = good;
  b[EI_DATA] = ELFDATA2MSB;
  expect_refused(b, "little-endian");
  b = good;
  auto h = header_of(b);
  h.e_machine = EM_X86_64;
  std::memcpy(b.data(), &h, sizeof h);
  expect_refused(b, "EM_BPF");
  b = good;
  h = header_of(b);
  h.e_type = ET_EXEC;
  std::memcpy(b.data(), &h, sizeof h);
  expect_refused(b, "ET_REL");
}

TEST(ElfFile, RefusesTruncatedObjects) {
  auto good = good_object();
  ASSERT_FALSE(good.empty());
  for (std::size_t len : {std::size_t{16}, sizeof(Elf64_Ehdr), good.size() / 2, good.size() - 1}) {
    std::vector<std::uint8_t> b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len));
    auto file = ElfFile::parse(std::move(b), "broken.o");
    EXPECT_FALSE(file.ok()) << "accepted a file cut to " << len << " bytes";
  }
}

TEST(ElfFile, RefusesSectionDataPastTheEnd) {
  auto good = good_object();
  ASSERT_FALSE(good.empty());
  // Point the first PROGBITS section's data beyond the end of the file.
  auto [index, sh] = first_section_of_type(good, SHT_PROGBITS);
  ASSERT_NE(index, 0u) << "no PROGBITS section found";
  auto b = good;
  sh.sh_offset = good.size() - 1;
  std::memcpy(b.data() + header_of(good).e_shoff + index * sizeof(Elf64_Shdr), &sh, sizeof sh);
  auto file = ElfFile::parse(std::move(b), "broken.o");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("section " + std::to_string(index)), std::string::npos) << file.error().message;
}

TEST(ElfFile, RefusesSymbolNamesOutsideTheStringTable) {
  auto good = good_object();
  ASSERT_FALSE(good.empty());
  auto [index, sh] = first_section_of_type(good, SHT_SYMTAB);
  ASSERT_NE(index, 0u) << "no symbol table";
  auto b = good;
  Elf64_Sym sym;
  const std::size_t at = sh.sh_offset + sizeof(Elf64_Sym);  // symbol 1
  std::memcpy(&sym, b.data() + at, sizeof sym);
  sym.st_name = 0x7fffffff;
  std::memcpy(b.data() + at, &sym, sizeof sym);
  expect_refused(b, "outside the string table");
}

}  // namespace
}  // namespace bpfsign::object
