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

// Loaded sections at most this far apart are read with one call.
constexpr std::uint64_t kReadGap = 4096;
// Read with the ELF header: the code sections clang writes right after it.
constexpr std::uint64_t kHeadRead = 4096;
// Read with the section header table, before it: the string table.
constexpr std::uint64_t kTailRead = 4096;

// Debug information is large (most of a `clang -g` object) and never needed
// to load a program; it is not read at all.
bool is_debug_section(std::string_view name) {
  // Two bytes rule out most names before any comparison is called.
  if (name.size() < 6 || name[0] != '.' || (name[1] != 'd' && name[1] != 'r')) return false;
  return name.starts_with(".debug") || name.starts_with(".rel.debug") || name.starts_with(".rela.debug");
}

}  // namespace

Result<ElfFile> ElfFile::load(std::uint64_t file_size, const ReadAt& read_at, std::string display_name) {
  ElfFile file;
  file.name_ = std::move(display_name);
  file.file_size_ = file_size;
  auto fail = [&](const Error& e) -> Result<ElfFile> { return e.with_context(file.name_); };

  // The file's image: every byte at its file offset, but only the bytes
  // something reads are filled — the ELF header, the section header table,
  // the section name table and the loaded sections. libelf parses the
  // image in memory, so its reads cost no system calls, and it is handed
  // the image only once the headers it reads eagerly are filled. Bytes
  // never filled are never read (by libelf either: checked under
  // valgrind's memcheck, see docs/object-model.md).
  file.image_.reset(new std::uint8_t[std::max<std::uint64_t>(file_size, 1)]);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> filled;  // [begin, end) ranges read so far
  auto fill = [&](std::uint64_t begin, std::uint64_t length) -> Status {
    std::uint64_t end = begin + length;  // callers checked the range against the file size
    // What earlier reads hold at either end is not read again (a range
    // held only in its middle is read whole: rare, and harmless).
    for (bool trimmed = true; trimmed && begin < end;) {
      trimmed = false;
      for (const auto& [b, e] : filled) {
        if (b <= begin && begin < e) begin = std::min(e, end), trimmed = true;
        if (begin < end && b < end && end <= e) end = std::max(b, begin), trimmed = true;
      }
    }
    if (begin >= end) return Ok{};
    if (auto r = read_at(begin, static_cast<std::size_t>(end - begin), file.image_.get() + begin); !r) return r;
    filled.emplace_back(begin, end);
    return Ok{};
  };

  // The identification and header are checked before libelf sees the
  // image: a 32-bit or big-endian header would have it read a table at
  // offsets this reader never filled.
  if (file_size < sizeof(Elf64_Ehdr)) return fail(bad_input("not an ELF file"));  // nor a header's worth of bytes
  if (auto r = fill(0, std::min<std::uint64_t>(file_size, kHeadRead)); !r) return fail(r.error());
  const std::uint8_t* ident = file.image_.get();
  if (std::memcmp(ident, ELFMAG, SELFMAG) != 0) return fail(bad_input("not an ELF file"));
  if (ident[EI_CLASS] != ELFCLASS64) return fail(bad_input("ELF class {}: BPF objects are 64-bit (ELFCLASS64)", int{ident[EI_CLASS]}));
  if (ident[EI_DATA] != ELFDATA2LSB) {
    return fail(bad_input("ELF data encoding {}: only little-endian BPF objects are supported", int{ident[EI_DATA]}));
  }
  Elf64_Ehdr ehdr;
  std::memcpy(&ehdr, file.image_.get(), sizeof ehdr);
  if (ehdr.e_machine != kMachineBpf) {
    return fail(bad_input("ELF machine {}: expected {} (EM_BPF)", ehdr.e_machine, kMachineBpf));
  }
  if (ehdr.e_type != ET_REL) return fail(bad_input("ELF type {}: expected a relocatable object (ET_REL)", ehdr.e_type));

  // The whole section header table must lie inside the file. The header's
  // own count; e_shnum == 0 with a table present means the count is in
  // section 0.
  std::uint64_t shnum = ehdr.e_shnum;
  if (ehdr.e_shoff != 0 && ehdr.e_shentsize != sizeof(Elf64_Shdr)) {
    return fail(bad_input("ELF header: section header size {} (expected {})", ehdr.e_shentsize, sizeof(Elf64_Shdr)));
  }
  if (ehdr.e_shoff != 0 && shnum == 0) {
    if (!range_fits(ehdr.e_shoff, sizeof(Elf64_Shdr), file_size)) {
      return fail(bad_input("ELF header: section header 0 at offset {} is past the end of the {}-byte file", ehdr.e_shoff, file_size));
    }
    if (auto r = fill(ehdr.e_shoff, sizeof(Elf64_Shdr)); !r) return fail(r.error());
    Elf64_Shdr sh0;
    std::memcpy(&sh0, file.image_.get() + ehdr.e_shoff, sizeof sh0);
    shnum = sh0.sh_size;
  }
  auto table = checked_mul(shnum, sizeof(Elf64_Shdr));
  if (!table || !range_fits(ehdr.e_shoff, *table, file_size)) {
    return fail(bad_input("ELF header: {} section headers at offset {} extend past the end of the {}-byte file",
                          shnum, ehdr.e_shoff, file_size));
  }
  if (ehdr.e_shoff != 0 && *table != 0) {
    // clang writes the string table just before the header table: one
    // read takes both.
    const std::uint64_t from = ehdr.e_shoff > kTailRead ? ehdr.e_shoff - kTailRead : 0;
    if (auto r = fill(from, ehdr.e_shoff + *table - from); !r) return fail(r.error());
  }

  if (elf_version(EV_CURRENT) == EV_NONE) return fail(elf_failure("libelf initialisation"));
  // elf_memory takes a non-const pointer but, opened read-only, does not write.
  ElfHandle handle(elf_memory(reinterpret_cast<char*>(file.image_.get()), static_cast<std::size_t>(file_size)));
  Elf* elf = handle.get();
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) return fail(bad_input("not an ELF file"));
  std::size_t libelf_shnum = 0;
  if (elf_getshdrnum(elf, &libelf_shnum) != 0 || libelf_shnum != shnum) {
    return fail(bad_input("ELF header: section count {} could not be read consistently", shnum));
  }

  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return fail(elf_failure("section name table index"));
  // Section names are views into the image's copy of the name table: no
  // string is built per section.
  const char* names_at = nullptr;
  if (Elf_Scn* names = elf_getscn(elf, shstrndx); names != nullptr) {
    GElf_Shdr sh;
    if (gelf_getshdr(names, &sh) != nullptr && sh.sh_type != SHT_NOBITS) {
      if (!range_fits(sh.sh_offset, sh.sh_size, file_size)) {
        return fail(bad_input("section {} (section names): data range [{}, +{}) exceeds the {} bytes available", shstrndx,
                              sh.sh_offset, sh.sh_size, file_size));
      }
      if (auto r = fill(sh.sh_offset, sh.sh_size); !r) return fail(r.error());
      names_at = reinterpret_cast<const char*>(file.image_.get() + sh.sh_offset);
    }
  }

  file.sections_.reserve(static_cast<std::size_t>(shnum));  // bounded: the table fits in the file
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    ElfSection s;
    s.index = elf_ndxscn(scn);
    if (gelf_getshdr(scn, &sh) == nullptr) return fail(elf_failure(fmt::format("section {} header", s.index).c_str()));
    // libelf checks the name (inside the table, NUL-terminated there); the
    // view is of the same bytes in the image.
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (name == nullptr || names_at == nullptr) {
      return fail(bad_input("section {}: name offset {} is outside the section name table", s.index, sh.sh_name));
    }
    s.name = std::string_view(names_at + sh.sh_name, std::strlen(name));
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
        return fail(bad_input("section {} ({}): section data range [{}, +{}) exceeds the {} bytes available", s.index,
                              s.name, s.offset, s.size, file_size));
      }
      // Symbol and string tables are always read, whatever their name;
      // sections of other types than these (.llvm_addrsig, notes, ...)
      // never are: nothing reads them. RELA is read to be refused.
      const bool readable = s.type == SHT_PROGBITS || s.type == SHT_REL || s.type == SHT_RELA;
      s.loaded = (readable && !is_debug_section(s.name)) || s.type == SHT_SYMTAB || s.type == SHT_STRTAB;
    }
    file.sections_.push_back(std::move(s));
  }
  if (auto layout = check_layout(file.sections_, ehdr.e_shoff, *table); !layout) return fail(layout.error());
  // Relocations of what is not read, and of .BTF and .BTF.ext (clang's
  // record of their section-relative offsets, which the kernel and libbpf
  // never apply), are not read either: in a large object, .rel.BTF.ext is
  // the largest section after the debug information.
  for (auto& s : file.sections_) {
    if (s.type != SHT_REL || !s.loaded) continue;
    const ElfSection* target = file.section_by_index(s.info);
    if (target != nullptr && (!target->loaded || target->name == ".BTF" || target->name == ".BTF.ext")) s.loaded = false;
  }

  // Loaded sections are read into the image at their offsets; sections
  // that lie close together in the file are read with one call: an object
  // has a few dozen small sections, and system calls cost more than
  // reading the few unused bytes between them.
  std::vector<ElfSection*> wanted;
  wanted.reserve(file.sections_.size());
  for (auto& s : file.sections_) {
    if (s.loaded && s.size != 0) wanted.push_back(&s);
  }
  std::sort(wanted.begin(), wanted.end(), [](const ElfSection* a, const ElfSection* b) { return a->offset < b->offset; });
  std::uint64_t run_begin = 0, run_end = 0;  // the run being gathered; empty while run_end == run_begin
  auto read_run = [&]() -> Status {
    if (run_end == run_begin) return Ok{};
    if (auto r = fill(run_begin, run_end - run_begin); !r) {
      return r.error().with_context(fmt::format("sections at bytes {}..{}", run_begin, run_end));
    }
    return Ok{};
  };
  for (ElfSection* s : wanted) {
    // check_layout refused overlaps, so each section starts at or after the previous one's end.
    if (run_end != run_begin && s->offset - run_end <= kReadGap) {
      run_end = s->offset + s->size;
    } else {
      if (auto r = read_run(); !r) return fail(r.error());
      run_begin = s->offset;
      run_end = s->offset + s->size;
    }
    s->data = Bytes(file.image_.get() + s->offset, static_cast<std::size_t>(s->size));
  }
  if (auto r = read_run(); !r) return fail(r.error());
  for (auto& s : file.sections_) {
    if (s.loaded && s.size == 0) s.data = Bytes(file.image_.get(), 0);
  }

  const ElfSection* symtab = nullptr;
  for (const auto& s : file.sections_) {
    if (s.type == SHT_SYMTAB) symtab = &s;
  }
  if (symtab != nullptr) {
    if (symtab->entsize != sizeof(Elf64_Sym) || symtab->size % sizeof(Elf64_Sym) != 0) {
      return fail(bad_input("section {} ({}): symbol table size {} is not a multiple of {}", symtab->index,
                            symtab->name, symtab->size, sizeof(Elf64_Sym)));
    }
    if (!file.section_by_index(symtab->link)) {
      return fail(bad_input("section {} ({}): string table {} does not exist", symtab->index, symtab->name, symtab->link));
    }
    const ElfSection& strtab = *file.section_by_index(symtab->link);
    const std::size_t count = static_cast<std::size_t>(symtab->size / sizeof(Elf64_Sym));
    file.symbols_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Elf64_Sym sym;
      std::memcpy(&sym, symtab->data.data() + i * sizeof sym, sizeof sym);
      ElfSymbol& s = file.symbols_.emplace_back();
      if (!symbol_name(strtab, sym.st_name, s.name)) return fail(symbol_name_error(*symtab, strtab, sym.st_name, i));
      s.index = i;
      s.section = sym.st_shndx;
      s.value = sym.st_value;
      s.size = sym.st_size;
      s.type = static_cast<std::uint8_t>(ELF64_ST_TYPE(sym.st_info));
      s.bind = static_cast<std::uint8_t>(ELF64_ST_BIND(sym.st_info));
      s.visibility = static_cast<std::uint8_t>(ELF64_ST_VISIBILITY(sym.st_other));
    }
  }
  return file;
}

Result<ElfFile> ElfFile::parse(std::vector<std::uint8_t> bytes, std::string display_name) {
  // The same partial image as a file gives: only what is read is copied.
  const ReadAt read_at = [&bytes](std::uint64_t offset, std::size_t length, std::uint8_t* out) -> Status {
    if (!range_fits(offset, length, bytes.size())) return bad_input("read of {} bytes at offset {} is past the end", length, offset);
    if (length != 0) std::memcpy(out, bytes.data() + offset, length);
    return Ok{};
  };
  return load(bytes.size(), read_at, std::move(display_name));
}

Result<ElfFile> ElfFile::open(const std::filesystem::path& path) {
  // Read through the descriptor, section by section, so that the debug
  // information that makes up most of a `clang -g` object is never read.
  auto file = open_input_file(path);
  if (!file) return file.error();
  const UniqueFd& fd = file->fd;
  const std::uint64_t size = file->size;
  const ReadAt read_at = [&fd, &path](std::uint64_t offset, std::size_t length, std::uint8_t* out) -> Status {
    std::size_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd.get(), out + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return io_error("{}: read failed: {}", path.string(), std::strerror(errno));
      if (n == 0) return io_error("{}: file shrank while reading (at byte {})", path.string(), offset + done);
      done += static_cast<std::size_t>(n);
    }
    return Ok{};
  };
  return load(size, read_at, path.string());
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
