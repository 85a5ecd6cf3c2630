// Bad input for the object reader, as a table: take a good corpus object,
// break one thing, and check the reader refuses it with an error that names
// the place (section, offset) and what was expected. Nothing may crash.
#include <gtest/gtest.h>

#include <elf.h>

#include <cstring>
#include <functional>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "test_support.hpp"

namespace bpfsign::object {
namespace {

// Raw access to a little-endian ELF64 file held in memory (test side only).
class ElfBytes {
 public:
  explicit ElfBytes(std::vector<std::uint8_t> b) : bytes(std::move(b)) {}

  template <typename T>
  T get(std::size_t off) const {
    T v;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    return v;
  }
  template <typename T>
  void put(std::size_t off, const T& v) {
    std::memcpy(bytes.data() + off, &v, sizeof v);
  }
  Elf64_Ehdr ehdr() const { return get<Elf64_Ehdr>(0); }
  std::size_t shdr_at(std::size_t index) const { return ehdr().e_shoff + index * sizeof(Elf64_Shdr); }
  Elf64_Shdr shdr(std::size_t index) const { return get<Elf64_Shdr>(shdr_at(index)); }
  std::string name_of(std::size_t index) const {
    const Elf64_Shdr names = shdr(ehdr().e_shstrndx);
    return reinterpret_cast<const char*>(bytes.data() + names.sh_offset + shdr(index).sh_name);
  }
  std::size_t index_of(const std::string& name) const {
    for (std::size_t i = 1; i < ehdr().e_shnum; ++i) {
      if (name_of(i) == name) return i;
    }
    ADD_FAILURE() << "no section " << name;
    return 0;
  }
  // File offset of section `name`'s data.
  std::size_t data_of(const std::string& name) const { return shdr(index_of(name)).sh_offset; }
  // File offset of the n-th relocation of section `rel_name`.
  std::size_t rel_at(const std::string& rel_name, std::size_t n) const { return data_of(rel_name) + n * sizeof(Elf64_Rel); }
  // File offset of the BTF type section's first byte.
  std::size_t btf_types() const {
    const std::size_t btf = data_of(".BTF");
    return btf + get<std::uint32_t>(btf + 4) + get<std::uint32_t>(btf + 8);
  }

  std::vector<std::uint8_t> bytes;
};

struct BadInputCase {
  const char* name;
  const char* object;  // corpus stem
  std::function<void(ElfBytes&)> damage;
  std::vector<const char*> expected;  // fragments the error must contain
};

// Offset of BTF type `id` within the type section (walking the records).
std::size_t btf_type_offset(const ElfBytes& e, std::uint32_t id) {
  const std::size_t base = e.btf_types();
  std::size_t off = 0;
  for (std::uint32_t i = 1; i < id; ++i) {
    const auto info = e.get<std::uint32_t>(base + off + 4);
    off += 12 + 4 * btf::extra_words(static_cast<btf::Kind>((info >> 24) & 0x1f), info & 0xffff);
  }
  return base + off;
}

std::uint32_t first_type_of_kind(const std::string& object, btf::Kind kind) {
  auto model = read_object_file(test::corpus_objects().front().parent_path() / (object + ".bpf.o"));
  for (std::uint32_t id = 1; id <= model->btf->type_count(); ++id) {
    if (model->btf->kind(id) == kind) return id;
  }
  return 0;
}

const std::vector<BadInputCase>& cases() {
  static const std::vector<BadInputCase> kCases = {
      {"truncated", "subprogs", [](ElfBytes& e) { e.bytes.resize(e.bytes.size() / 2); }, {"section header", "past the end"}},
      {"wrong_class", "subprogs", [](ElfBytes& e) { e.bytes[EI_CLASS] = ELFCLASS32; }, {"ELF class 1"}},
      {"wrong_endianness", "subprogs", [](ElfBytes& e) { e.bytes[EI_DATA] = ELFDATA2MSB; }, {"little-endian"}},
      {"wrong_machine", "subprogs", [](ElfBytes& e) { e.put<std::uint16_t>(offsetof(Elf64_Ehdr, e_machine), EM_X86_64); }, {"EM_BPF"}},
      {"section_past_end", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.shdr_at(e.index_of(".text")) + offsetof(Elf64_Shdr, sh_size), 1u << 30); },
       {"section", ".text", "exceeds"}},
      {"overlapping_sections", "subprogs",
       [](ElfBytes& e) {
         e.put<std::uint64_t>(e.shdr_at(e.index_of("syscall")) + offsetof(Elf64_Shdr, sh_offset), e.data_of(".text"));
       },
       {"overlaps", ".text"}},
      {"misaligned_section", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.shdr_at(e.index_of(".text")) + offsetof(Elf64_Shdr, sh_offset), e.data_of(".text") + 4); },
       {"section", ".text", "not aligned"}},
      {"code_size_not_multiple_of_8", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.shdr_at(e.index_of("syscall")) + offsetof(Elf64_Shdr, sh_size), 44); },
       {"syscall", "not a multiple of 8"}},
      {"relocation_symbol_out_of_range", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.rel_at(".relsyscall", 0) + 8, ELF64_R_INFO(99999, 10)); },
       {".relsyscall", "relocation 0", "symbol index 99999 is out of range"}},
      {"unknown_relocation_type", "subprogs",
       [](ElfBytes& e) {
         const auto info = e.get<std::uint64_t>(e.rel_at(".relsyscall", 0) + 8);
         e.put<std::uint64_t>(e.rel_at(".relsyscall", 0) + 8, ELF64_R_INFO(ELF64_R_SYM(info), 7));
       },
       {".relsyscall", "relocation type 7"}},
      {"relocation_between_instructions", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.rel_at(".relsyscall", 0), 12); },
       {".relsyscall", "offset 12", "does not land on an instruction"}},
      {"relocation_past_section", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.rel_at(".relsyscall", 0), 1u << 20); },
       {".relsyscall", "does not land on an instruction"}},
      {"relocation_on_plain_instruction", "subprogs",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.rel_at(".relsyscall", 0), 0); },
       {".relsyscall", "neither a call nor an ld_imm64"}},
      {"btf_bad_magic", "subprogs", [](ElfBytes& e) { e.put<std::uint16_t>(e.data_of(".BTF"), 0x1234); }, {".BTF", "magic 0x1234"}},
      {"btf_string_offset_past_end", "subprogs",
       [](ElfBytes& e) { e.put<std::uint32_t>(btf_type_offset(e, 1), 0xfffff0); },
       {".BTF", "type [1]", "name offset 16777200"}},
      {"btf_unknown_kind", "subprogs",
       [](ElfBytes& e) { e.put<std::uint32_t>(btf_type_offset(e, 1) + 4, 25u << 24); },
       {".BTF", "unknown kind 25"}},
      {"btf_type_loop", "subprogs",
       [](ElfBytes& e) {
         const std::uint32_t id = first_type_of_kind("subprogs", btf::Kind::Typedef);
         e.put<std::uint32_t>(btf_type_offset(e, id) + 8, id);
       },
       {".BTF", "reference loop"}},
      {"btf_type_reference_out_of_range", "subprogs",
       [](ElfBytes& e) {
         const std::uint32_t id = first_type_of_kind("subprogs", btf::Kind::Ptr);
         e.put<std::uint32_t>(btf_type_offset(e, id) + 8, 0xfffff);
       },
       {".BTF", "refers to type [1048575]"}},
      {"btf_ext_record_in_missing_section", "subprogs",
       [](ElfBytes& e) {
         // The first func_info section names a string that is no section.
         const std::size_t ext = e.data_of(".BTF.ext");
         const std::size_t first_sec = ext + e.get<std::uint32_t>(ext + 4) + e.get<std::uint32_t>(ext + 8) + 4;
         e.put<std::uint32_t>(first_sec, e.get<std::uint32_t>(btf_type_offset(e, 1)) == 0 ? 1 : e.get<std::uint32_t>(btf_type_offset(e, 1)));
       },
       {"BTF.ext func_info", "is not a code section"}},
      {"btf_ext_offset_past_section", "subprogs",
       [](ElfBytes& e) {
         const std::size_t ext = e.data_of(".BTF.ext");
         const std::size_t first_rec = ext + e.get<std::uint32_t>(ext + 4) + e.get<std::uint32_t>(ext + 8) + 4 + 8;
         e.put<std::uint32_t>(first_rec, 0x100000);
       },
       {"BTF.ext func_info", "instruction offset 1048576"}},
      {"btf_ext_truncated_records", "subprogs",
       [](ElfBytes& e) {
         const std::size_t ext = e.data_of(".BTF.ext");
         const std::size_t first_sec = ext + e.get<std::uint32_t>(ext + 4) + e.get<std::uint32_t>(ext + 8) + 4;
         e.put<std::uint32_t>(first_sec + 4, 0x10000000);
       },
       {"(.BTF.ext)", "section '.text' claims 268435456 records"}},
      {"unknown_section_name", "net_progs",
       [](ElfBytes& e) {
         // Rename the section, and its name in BTF so that .BTF.ext still matches.
         const std::size_t idx = e.index_of("xdp");
         e.bytes[e.shdr(e.ehdr().e_shstrndx).sh_offset + e.shdr(idx).sh_name + 2] = 'q';
         const std::size_t btf = e.data_of(".BTF");
         const std::size_t strings = btf + e.get<std::uint32_t>(btf + 4) + e.get<std::uint32_t>(btf + 16);
         const std::string_view needle("\0xdp\0", 5);
         const std::string_view hay(reinterpret_cast<const char*>(e.bytes.data() + strings), e.get<std::uint32_t>(btf + 20));
         e.bytes[strings + hay.find(needle) + 3] = 'q';
       },
       {"program 'xdp_count'", "section 'xdq' names no program type"}},
      {"legacy_maps_size_mismatch", "maps_legacy",
       [](ElfBytes& e) { e.put<std::uint64_t>(e.shdr_at(e.index_of("maps")) + offsetof(Elf64_Shdr, sh_size), 39); },
       {"(maps)", "not a multiple"}},
  };
  return kCases;
}

TEST(ObjectBadInput, EveryDamagedObjectIsRefusedWithAPreciseError) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "the BPF corpus was not built (BPFSIGN_BUILD_CORPUS=OFF)";
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    auto bytes = read_file(objects.front().parent_path() / (std::string(c.object) + ".bpf.o"));
    ASSERT_TRUE(bytes.ok());
    ElfBytes e(std::move(bytes).value());
    c.damage(e);
    auto elf = ElfFile::parse(std::move(e.bytes), std::string("damaged/") + c.object + ".o");
    const Error error = elf.ok() ? [&] {
      auto model = read_object(*elf);
      return model.ok() ? Error{ErrorKind::Internal, "accepted"} : model.error();
    }() : elf.error();
    EXPECT_EQ(error.kind, ErrorKind::BadInput) << error.message;
    EXPECT_EQ(error.message.rfind("damaged/", 0), 0u) << "the file is not named first: " << error.message;
    for (const char* fragment : c.expected) {
      EXPECT_NE(error.message.find(fragment), std::string::npos) << "missing '" << fragment << "' in: " << error.message;
    }
  }
}

TEST(ObjectBadInput, EveryTruncationOfAnObjectIsRefusedOrReadConsistently) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "the BPF corpus was not built";
  auto bytes = read_file(objects.front().parent_path() / "subprogs.bpf.o");
  ASSERT_TRUE(bytes.ok());
  // Every prefix: the reader must refuse each one (the section header table
  // is at the end) without crashing.
  for (std::size_t n = 0; n < bytes->size(); n += 7) {
    std::vector<std::uint8_t> cut(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(n));
    auto elf = ElfFile::parse(std::move(cut), "cut.o");
    if (elf.ok()) {
      EXPECT_FALSE(read_object(*elf).ok()) << "a " << n << "-byte prefix was accepted";
    }
  }
}

}  // namespace
}  // namespace bpfsign::object
