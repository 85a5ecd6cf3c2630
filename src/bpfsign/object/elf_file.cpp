#include "bpfsign/object/elf_file.hpp"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "bpfsign/common/checked_math.hpp"
#include "bpfsign/common/file_io.hpp"

namespace bpfsign::object {

namespace {

constexpr std::uint16_t kMachineBpf = 247;  // EM_BPF

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

Error elf_failure(const char* what) { return bad_input("{}: {}", what, elf_errmsg(-1)); }

Result<ElfSymbol> read_symbol(Elf* elf, const ElfSection& symtab, std::size_t i) {
  GElf_Sym sym;
  Elf_Scn* scn = elf_getscn(elf, symtab.index);
  Elf_Data* data = scn ? elf_getdata(scn, nullptr) : nullptr;
  if (data == nullptr || gelf_getsym(data, static_cast<int>(i), &sym) == nullptr) {
    return bad_input("section {} ({}): symbol {} unreadable: {}", symtab.index, symtab.name, i, elf_errmsg(-1));
  }
  ElfSymbol s;
  s.index = i;
  const char* name = elf_strptr(elf, symtab.link, sym.st_name);
  if (name == nullptr) {
    return bad_input("section {} ({}): symbol {} has name offset {} outside the string table", symtab.index,
                     symtab.name, i, sym.st_name);
  }
  s.name = name;
  s.section = sym.st_shndx;
  s.value = sym.st_value;
  s.size = sym.st_size;
  s.type = GELF_ST_TYPE(sym.st_info);
  s.bind = GELF_ST_BIND(sym.st_info);
  s.visibility = GELF_ST_VISIBILITY(sym.st_other);
  return s;
}

// Section contents must not overlap each other, the ELF header or the
// section header table, and must sit at their declared alignment: a file
// where two sections share bytes can mean different things to different
// readers, which a signing tool must not accept.
Status check_layout(const std::vector<ElfSection>& sections, std::uint64_t shoff, std::uint64_t shtable_size) {
  struct Range {
    std::uint64_t begin, end;
    std::string what;
  };
  std::vector<Range> ranges{{0, sizeof(Elf64_Ehdr), "the ELF header"}, {shoff, shoff + shtable_size, "the section header table"}};
  for (const auto& s : sections) {
    if (s.type == SHT_NOBITS || s.type == SHT_NULL || s.size == 0) continue;
    if (s.addralign > 1 && ((s.addralign & (s.addralign - 1)) != 0 || s.offset % s.addralign != 0)) {
      return bad_input("section {} ({}): offset {} is not aligned to its alignment {}", s.index, s.name, s.offset, s.addralign);
    }
    ranges.push_back({s.offset, s.offset + s.size, fmt::format("section {} ({})", s.index, s.name)});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end && ranges[i].begin != ranges[i].end) {
      return bad_input("{} at offset {} overlaps {} (bytes {}..{})", ranges[i].what, ranges[i].begin, ranges[i - 1].what,
                       ranges[i - 1].begin, ranges[i - 1].end);
    }
  }
  return Ok{};
}

}  // namespace

bool ElfSection::is_program() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0; }

Result<ElfFile> ElfFile::parse(std::vector<std::uint8_t> bytes, std::string display_name) {
  ElfFile file;
  file.name_ = std::move(display_name);
  file.bytes_ = std::move(bytes);
  auto fail = [&](const Error& e) -> Result<ElfFile> { return e.with_context(file.name_); };

  if (elf_version(EV_CURRENT) == EV_NONE) return fail(elf_failure("libelf initialisation"));
  // elf_memory takes a non-const pointer but, opened read-only, does not write.
  ElfHandle elf(elf_memory(reinterpret_cast<char*>(file.bytes_.data()), file.bytes_.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return fail(bad_input("not an ELF file"));

  const char* ident = elf_getident(elf.get(), nullptr);
  if (ident == nullptr) return fail(elf_failure("ELF identification"));
  if (ident[EI_CLASS] != ELFCLASS64) return fail(bad_input("ELF class {}: BPF objects are 64-bit (ELFCLASS64)", int{ident[EI_CLASS]}));
  if (ident[EI_DATA] != ELFDATA2LSB) {
    return fail(bad_input("ELF data encoding {}: only little-endian BPF objects are supported", int{ident[EI_DATA]}));
  }
  GElf_Ehdr ehdr;
  if (gelf_getehdr(elf.get(), &ehdr) == nullptr) return fail(elf_failure("ELF header"));
  if (ehdr.e_machine != kMachineBpf) {
    return fail(bad_input("ELF machine {}: expected {} (EM_BPF)", ehdr.e_machine, kMachineBpf));
  }
  if (ehdr.e_type != ET_REL) return fail(bad_input("ELF type {}: expected a relocatable object (ET_REL)", ehdr.e_type));

  // libelf reads section headers lazily and tolerates a table cut short by
  // truncation; check that the whole table lies inside the file first.
  // The header's own count, not libelf's, which reads 0 for a cut table.
  // e_shnum == 0 with a table present means the count is in section 0.
  std::uint64_t shnum = ehdr.e_shnum;
  if (ehdr.e_shoff != 0 && ehdr.e_shentsize != sizeof(Elf64_Shdr)) {
    return fail(bad_input("ELF header: section header size {} (expected {})", ehdr.e_shentsize, sizeof(Elf64_Shdr)));
  }
  if (ehdr.e_shoff != 0 && shnum == 0) {
    auto first = subspan_checked(file.bytes_, ehdr.e_shoff, sizeof(Elf64_Shdr), "ELF header: section header 0");
    if (!first) return fail(first.error());
    Elf64_Shdr sh0;
    std::memcpy(&sh0, first->data(), sizeof sh0);
    shnum = sh0.sh_size;
  }
  auto table = checked_mul(shnum, sizeof(Elf64_Shdr));
  if (!table || !range_fits(ehdr.e_shoff, *table, file.bytes_.size())) {
    return fail(bad_input("ELF header: {} section headers at offset {} extend past the end of the {}-byte file",
                          shnum, ehdr.e_shoff, file.bytes_.size()));
  }
  std::size_t libelf_shnum = 0;
  if (elf_getshdrnum(elf.get(), &libelf_shnum) != 0 || libelf_shnum != shnum) {
    return fail(bad_input("ELF header: section count {} could not be read consistently", shnum));
  }

  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return fail(elf_failure("section name table index"));

  const ElfSection* symtab = nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn != nullptr; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr sh;
    ElfSection s;
    s.index = elf_ndxscn(scn);
    if (gelf_getshdr(scn, &sh) == nullptr) return fail(elf_failure(fmt::format("section {} header", s.index).c_str()));
    const char* name = elf_strptr(elf.get(), shstrndx, sh.sh_name);
    if (name == nullptr) {
      return fail(bad_input("section {}: name offset {} is outside the section name table", s.index, sh.sh_name));
    }
    s.name = name;
    s.type = sh.sh_type;
    s.flags = sh.sh_flags;
    s.offset = sh.sh_offset;
    s.size = sh.sh_size;
    s.link = sh.sh_link;
    s.info = sh.sh_info;
    s.addralign = sh.sh_addralign;
    s.entsize = sh.sh_entsize;
    if (s.type != SHT_NOBITS && s.type != SHT_NULL) {
      auto data = subspan_checked(file.bytes_, s.offset, s.size, "section data");
      if (!data) return fail(data.error().with_context(fmt::format("section {} ({})", s.index, s.name)));
      s.data = *data;
    }
    file.sections_.push_back(std::move(s));
  }
  if (auto layout = check_layout(file.sections_, ehdr.e_shoff, *table); !layout) return fail(layout.error());
  for (const auto& s : file.sections_) {
    if (s.type == SHT_SYMTAB) symtab = &s;
  }
  if (symtab != nullptr) {
    if (symtab->entsize != sizeof(Elf64_Sym) || symtab->size % sizeof(Elf64_Sym) != 0) {
      return fail(bad_input("section {} ({}): symbol table size {} is not a multiple of {}", symtab->index,
                            symtab->name, symtab->size, sizeof(Elf64_Sym)));
    }
    const std::size_t count = static_cast<std::size_t>(symtab->size / sizeof(Elf64_Sym));
    file.symbols_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto sym = read_symbol(elf.get(), *symtab, i);
      if (!sym) return fail(sym.error());
      file.symbols_.push_back(std::move(sym).value());
    }
  }
  return file;
}

Result<ElfFile> ElfFile::open(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  return parse(std::move(bytes).value(), path.string());
}

const ElfSection* ElfFile::find_section(std::string_view name) const {
  for (const auto& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace bpfsign::object
