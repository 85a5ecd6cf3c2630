#include "bpfsign/object/elf_file.hpp"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "bpfsign/common/checked_math.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>

namespace bpfsign::object {

namespace {

constexpr std::uint16_t kMachineBpf = 247;  // EM_BPF

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfHandle = std::unique_ptr<Elf, ElfCloser>;

Error elf_failure(const char* what) { return bad_input("{}: {}", what, elf_errmsg(-1)); }

// A symbol's name: the string at `st_name` of the string table as loaded,
// which must end inside it. False when it does not (symbol_name_error says
// why): symbols are many, and the check costs no Error unless one fails.
bool symbol_name(const ElfSection& strtab, std::uint32_t st_name, std::string_view& out) {
  if (st_name >= strtab.data.size()) return false;
  const char* begin = reinterpret_cast<const char*>(strtab.data.data()) + st_name;
  const char* end = static_cast<const char*>(std::memchr(begin, 0, strtab.data.size() - st_name));
  if (end == nullptr) return false;
  out = std::string_view(begin, static_cast<std::size_t>(end - begin));
  return true;
}

Error symbol_name_error(const ElfSection& symtab, const ElfSection& strtab, std::uint32_t st_name, std::size_t i) {
  if (st_name >= strtab.data.size()) {
    return bad_input("section {} ({}): symbol {} has name offset {} outside the string table ({} bytes)", symtab.index,
                     symtab.name, i, st_name, strtab.data.size());
  }
  return bad_input("section {} ({}): symbol {} name at offset {} is not NUL-terminated", symtab.index, symtab.name, i, st_name);
}

}  // namespace

bool ElfSection::is_program() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR) != 0; }

namespace {

// Section contents must not overlap each other, the ELF header or the
// section header table, and must sit at their declared alignment: a file
// where two sections share bytes can mean different things to different
// readers, which a signing tool must not accept.
Status check_layout(const std::vector<ElfSection>& sections, std::uint64_t shoff, std::uint64_t shtable_size) {
  struct Range {
    std::uint64_t begin, end;
    const ElfSection* section;  // or, when null, `label` names the range
    const char* label;
  };
  // Named only when one is reported: formatting every section's name up
  // front cost more than the whole check.
  auto what = [](const Range& r) {
    if (r.section != nullptr) return fmt::format("section {} ({})", r.section->index, r.section->name);
    return std::string(r.label);
  };
  std::vector<Range> ranges{{0, sizeof(Elf64_Ehdr), nullptr, "the ELF header"},
                            {shoff, shoff + shtable_size, nullptr, "the section header table"}};
  ranges.reserve(sections.size() + 2);
  for (const auto& s : sections) {
    if (s.type == SHT_NOBITS || s.type == SHT_NULL || s.size == 0) continue;
    if (s.addralign > 1 && ((s.addralign & (s.addralign - 1)) != 0 || s.offset % s.addralign != 0)) {
      return bad_input("section {} ({}): offset {} is not aligned to its alignment {}", s.index, s.name, s.offset, s.addralign);
    }
    ranges.push_back({s.offset, s.offset + s.size, &s, nullptr});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end && ranges[i].begin != ranges[i].end) {
      return bad_input("{} at offset {} overlaps {} (bytes {}..{})", what(ranges[i]), ranges[i].begin, what(ranges[i - 1]),
                       ranges[i - 1].begin, ranges[i - 1].end);
    }
  }
  return Ok{};
}

// Debug information is large (most of a `clang -g` object) and never needed
// to load a program: its sections are listed but get no data.
bool is_debug_section(std::string_view name) {
  // Two bytes rule out most names before any comparison is called.
  if (name.size() < 6 || name[0] != '.' || (name[1] != 'd' && name[1] != 'r')) return false;
  return name.starts_with(".debug") || name.starts_with(".rel.debug") || name.starts_with(".rela.debug");
}

// The whole file, read through its descriptor into a buffer every byte of
// which is filled: libelf and everything after it see only bytes that are
// in the file. Read, not mapped, so that a file changed meanwhile cannot
// change what was already checked (and a truncated one gives an error, not
// a SIGBUS).
Result<std::vector<std::uint8_t>> read_image(const UniqueFd& fd, std::uint64_t size, const std::filesystem::path& path) {
  std::vector<std::uint8_t> image(static_cast<std::size_t>(size));  // size <= kMaxInputFileSize
  std::size_t done = 0;
  while (done < image.size()) {
    const ssize_t n = ::pread(fd.get(), image.data() + done, image.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("{}: read failed: {}", path.string(), std::strerror(errno));
    if (n == 0) return io_error("{}: file shrank while reading (at byte {})", path.string(), done);
    done += static_cast<std::size_t>(n);
  }
  return image;
}

// The identification and header, checked before libelf sees the image:
// only 64-bit little-endian relocatable BPF objects go further, so libelf
// never parses a layout this reader does not check.
Result<Elf64_Ehdr> check_header(const std::vector<std::uint8_t>& image) {
  if (image.size() < sizeof(Elf64_Ehdr)) return bad_input("not an ELF file");  // nor a header's worth of bytes
  const std::uint8_t* ident = image.data();
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return bad_input("not an ELF file");
  if (ident[EI_CLASS] != ELFCLASS64) return bad_input("ELF class {}: BPF objects are 64-bit (ELFCLASS64)", int{ident[EI_CLASS]});
  if (ident[EI_DATA] != ELFDATA2LSB) {
    return bad_input("ELF data encoding {}: only little-endian BPF objects are supported", int{ident[EI_DATA]});
  }
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, image.data(), sizeof ehdr);
  if (ehdr.e_machine != kMachineBpf) return bad_input("ELF machine {}: expected {} (EM_BPF)", ehdr.e_machine, kMachineBpf);
  if (ehdr.e_type != ET_REL) return bad_input("ELF type {}: expected a relocatable object (ET_REL)", ehdr.e_type);
  return ehdr;
}

// The number of section headers, once the whole table is known to lie
// inside the file. The header's own count; e_shnum == 0 with a table
// present means the count is in section 0's sh_size.
Result<std::uint64_t> section_count(const Elf64_Ehdr& ehdr, const std::vector<std::uint8_t>& image) {
  const std::uint64_t file_size = image.size();
  std::uint64_t shnum = ehdr.e_shnum;
  if (ehdr.e_shoff != 0 && ehdr.e_shentsize != sizeof(Elf64_Shdr)) {
    return bad_input("ELF header: section header size {} (expected {})", ehdr.e_shentsize, sizeof(Elf64_Shdr));
  }
  if (ehdr.e_shoff != 0 && shnum == 0) {
    if (!range_fits(ehdr.e_shoff, sizeof(Elf64_Shdr), file_size)) {
      return bad_input("ELF header: section header 0 at offset {} is past the end of the {}-byte file", ehdr.e_shoff, file_size);
    }
    Elf64_Shdr sh0;
    std::memcpy(&sh0, image.data() + ehdr.e_shoff, sizeof sh0);
    shnum = sh0.sh_size;
  }
  auto table = checked_mul(shnum, sizeof(Elf64_Shdr));
  if (!table || !range_fits(ehdr.e_shoff, *table, file_size)) {
    return bad_input("ELF header: {} section headers at offset {} extend past the end of the {}-byte file", shnum,
                     ehdr.e_shoff, file_size);
  }
  return shnum;
}

// libelf's view of the image, which must count the sections as
// section_count did: the checks above are of the table libelf reads.
Result<ElfHandle> open_with_libelf(std::vector<std::uint8_t>& image, std::uint64_t shnum) {
  if (elf_version(EV_CURRENT) == EV_NONE) return elf_failure("libelf initialisation");
  // elf_memory takes a non-const pointer but, opened read-only, does not write.
  ElfHandle handle(elf_memory(reinterpret_cast<char*>(image.data()), image.size()));
  if (handle == nullptr || elf_kind(handle.get()) != ELF_K_ELF) return bad_input("not an ELF file");
  std::size_t libelf_shnum = 0;
  if (elf_getshdrnum(handle.get(), &libelf_shnum) != 0 || libelf_shnum != shnum) {
    return bad_input("ELF header: section count {} could not be read consistently", shnum);
  }
  return handle;
}

// The section name table: its index, and where its bytes start in the image
// (null when it has none). Section names are views into it: no string is
// built per section.
struct NameTable {
  std::size_t index = 0;
  const char* bytes = nullptr;
};

Result<NameTable> find_name_table(Elf* elf, const std::vector<std::uint8_t>& image) {
  NameTable names;
  if (elf_getshdrstrndx(elf, &names.index) != 0) return elf_failure("section name table index");
  Elf_Scn* scn = elf_getscn(elf, names.index);
  GElf_Shdr sh;
  if (scn == nullptr || gelf_getshdr(scn, &sh) == nullptr || sh.sh_type == SHT_NOBITS) return names;
  if (!range_fits(sh.sh_offset, sh.sh_size, image.size())) {
    return bad_input("section {} (section names): data range [{}, +{}) exceeds the {} bytes available", names.index,
                     sh.sh_offset, sh.sh_size, image.size());
  }
  names.bytes = reinterpret_cast<const char*>(image.data() + sh.sh_offset);
  return names;
}

// One section's header as libelf reads it, its name a view into the name
// table, and whether its data is wanted. Symbol and string tables always
// are, whatever their name; sections of other types than these and
// PROGBITS/REL/RELA (.llvm_addrsig, notes, ...) never are: nothing reads
// them. RELA is wanted to be refused.
Result<ElfSection> describe_section(Elf* elf, Elf_Scn* scn, const NameTable& names, std::uint64_t file_size) {
  GElf_Shdr sh;
  ElfSection s;
  s.index = elf_ndxscn(scn);
  if (gelf_getshdr(scn, &sh) == nullptr) return elf_failure(fmt::format("section {} header", s.index).c_str());
  // libelf checks the name (inside the table, NUL-terminated there); the
  // view is of the same bytes in the image.
  const char* name = elf_strptr(elf, names.index, sh.sh_name);
  if (name == nullptr || names.bytes == nullptr) {
    return bad_input("section {}: name offset {} is outside the section name table", s.index, sh.sh_name);
  }
  s.name = std::string_view(names.bytes + sh.sh_name, std::strlen(name));
  s.type = sh.sh_type;
  s.flags = sh.sh_flags;
  s.offset = sh.sh_offset;
  s.size = sh.sh_size;
  s.link = sh.sh_link;
  s.info = sh.sh_info;
  s.addralign = sh.sh_addralign;
  s.entsize = sh.sh_entsize;
  if (s.type != SHT_NOBITS && s.type != SHT_NULL) {
    if (!range_fits(s.offset, s.size, file_size)) {
      return bad_input("section {} ({}): section data range [{}, +{}) exceeds the {} bytes available", s.index, s.name,
                       s.offset, s.size, file_size);
    }
    const bool readable = s.type == SHT_PROGBITS || s.type == SHT_REL || s.type == SHT_RELA;
    s.loaded = (readable && !is_debug_section(s.name)) || s.type == SHT_SYMTAB || s.type == SHT_STRTAB;
  }
  return s;
}

// Every section in header order (index 1 first; section 0 is not listed).
Result<std::vector<ElfSection>> list_sections(Elf* elf, const NameTable& names, std::uint64_t shnum, std::uint64_t file_size) {
  std::vector<ElfSection> sections;
  sections.reserve(static_cast<std::size_t>(shnum));  // bounded: the table fits in the file
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    auto s = describe_section(elf, scn, names, file_size);
    if (!s) return s.error();
    sections.push_back(std::move(*s));
  }
  return sections;
}

// Relocations of what gets no data, and of .BTF and .BTF.ext (clang's
// record of their section-relative offsets, which the kernel and libbpf
// never apply), get none either: in a large object, .rel.BTF.ext is the
// largest section after the debug information.
void skip_unapplied_relocations(std::vector<ElfSection>& sections) {
  auto by_index = [&](std::size_t index) -> const ElfSection* {
    return index == 0 || index > sections.size() ? nullptr : &sections[index - 1];
  };
  for (auto& s : sections) {
    if (s.type != SHT_REL || !s.loaded) continue;
    const ElfSection* target = by_index(s.info);
    if (target != nullptr && (!target->loaded || target->name == ".BTF" || target->name == ".BTF.ext")) s.loaded = false;
  }
}

// Each wanted section's data: a view of its bytes in the image (ranges
// checked by describe_section). An empty one still points into the image,
// so that `loaded` and a non-null data pointer agree.
void attach_section_data(std::vector<ElfSection>& sections, const std::vector<std::uint8_t>& image) {
  for (auto& s : sections) {
    if (!s.loaded) continue;
    s.data = s.size == 0 ? Bytes(image.data(), 0) : Bytes(image.data() + s.offset, static_cast<std::size_t>(s.size));
  }
}

// The symbol table (the last SHT_SYMTAB, if any), its names views into the
// string table it links to, each checked to end inside it.
Result<std::vector<ElfSymbol>> read_symbols(const std::vector<ElfSection>& sections) {
  std::vector<ElfSymbol> symbols;
  const ElfSection* symtab = nullptr;
  for (const auto& s : sections) {
    if (s.type == SHT_SYMTAB) symtab = &s;
  }
  if (symtab == nullptr) return symbols;
  if (symtab->entsize != sizeof(Elf64_Sym) || symtab->size % sizeof(Elf64_Sym) != 0) {
    return bad_input("section {} ({}): symbol table size {} is not a multiple of {}", symtab->index, symtab->name,
                     symtab->size, sizeof(Elf64_Sym));
  }
  if (symtab->link == 0 || symtab->link > sections.size()) {
    return bad_input("section {} ({}): string table {} does not exist", symtab->index, symtab->name, symtab->link);
  }
  const ElfSection& strtab = sections[symtab->link - 1];
  const std::size_t count = static_cast<std::size_t>(symtab->size / sizeof(Elf64_Sym));
  symbols.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Elf64_Sym sym;
    std::memcpy(&sym, symtab->data.data() + i * sizeof sym, sizeof sym);
    ElfSymbol& s = symbols.emplace_back();
    if (!symbol_name(strtab, sym.st_name, s.name)) return symbol_name_error(*symtab, strtab, sym.st_name, i);
    s.index = i;
    s.section = sym.st_shndx;
    s.value = sym.st_value;
    s.size = sym.st_size;
    s.type = static_cast<std::uint8_t>(ELF64_ST_TYPE(sym.st_info));
    s.bind = static_cast<std::uint8_t>(ELF64_ST_BIND(sym.st_info));
    s.visibility = static_cast<std::uint8_t>(ELF64_ST_VISIBILITY(sym.st_other));
  }
  return symbols;
}

}  // namespace

Result<ElfFile> ElfFile::load(std::vector<std::uint8_t> image, std::string display_name) {
  ElfFile file;
  file.name_ = std::move(display_name);
  file.file_size_ = image.size();
  file.image_ = std::move(image);  // from here on, views point into file.image_
  if (auto r = file.index(); !r) return r.error().with_context(file.name_);
  return file;
}

// The steps of a load, in order; each stops at the first thing wrong.
Status ElfFile::index() {
  auto ehdr = check_header(image_);
  if (!ehdr) return ehdr.error();
  auto shnum = section_count(*ehdr, image_);
  if (!shnum) return shnum.error();
  auto elf = open_with_libelf(image_, *shnum);
  if (!elf) return elf.error();
  auto names = find_name_table(elf->get(), image_);
  if (!names) return names.error();
  auto sections = list_sections(elf->get(), *names, *shnum, file_size_);
  if (!sections) return sections.error();
  sections_ = std::move(*sections);
  if (auto r = check_layout(sections_, ehdr->e_shoff, *shnum * sizeof(Elf64_Shdr)); !r) return r;
  skip_unapplied_relocations(sections_);
  attach_section_data(sections_, image_);
  auto symbols = read_symbols(sections_);
  if (!symbols) return symbols.error();
  symbols_ = std::move(*symbols);
  return Ok{};
}

Result<ElfFile> ElfFile::parse(std::vector<std::uint8_t> bytes, std::string display_name) {
  return load(std::move(bytes), std::move(display_name));
}

Result<ElfFile> ElfFile::open(const std::filesystem::path& path) {
  auto file = open_input_file(path);
  if (!file) return file.error();
  auto image = read_image(file->fd, file->size, path);
  if (!image) return image.error().with_context(path.string());
  return load(std::move(*image), path.string());
}

const ElfSection* ElfFile::section_by_index(std::size_t index) const {
  if (index == 0 || index > sections_.size()) return nullptr;
  return &sections_[index - 1];
}

const ElfSection* ElfFile::find_section(std::string_view name) const {
  for (const auto& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace bpfsign::object
