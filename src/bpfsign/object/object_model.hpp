// Everything needed to load a BPF object, read once from its ELF file:
// entry programs with their subprograms linked in, maps, global data,
// externs, relocations and the fixed-up BTF. Later stages (the loader
// generator, the auditor) read this model and never the ELF again.
//
// Semantics follow libbpf's (docs/object-model.md says where and why we
// differ). Instruction offsets here are in instruction slots of the linked
// program, as the kernel counts them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/btf/btf_ext.hpp"
#include "bpfsign/isa/instruction.hpp"
#include "bpfsign/object/section_defs.hpp"

namespace bpfsign::object {

struct MapDefinition {
  std::uint32_t type = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;  // as declared; ring buffers are rounded to pages at load
  std::uint32_t flags = 0;
  std::uint32_t numa_node = 0;
  std::uint64_t map_extra = 0;
  std::uint32_t btf_key_type_id = 0;    // 0: no BTF type for the key
  std::uint32_t btf_value_type_id = 0;  // for global data: the DATASEC
  bool pin_by_name = false;             // LIBBPF_PIN_BY_NAME
};

enum class MapOrigin : std::uint8_t {
  BtfDefined,  // SEC(".maps")
  Legacy,      // SEC("maps"), struct bpf_map_def
  Data,        // .data, .data.*
  Rodata,      // .rodata, .rodata.*: frozen after initialisation
  Bss,         // .bss: zero-initialised
  Kconfig,     // .kconfig externs, filled at load from the running kernel's config
};
const char* map_origin_name(MapOrigin origin);

// An initial slot of a prog_array or map-in-map, from `.values = { ... }`.
struct InitialSlot {
  std::uint32_t index = 0;
  std::string target;  // program name (prog_array) or map name (map-in-map)
};

struct Map {
  std::string name;         // the variable name, or the ELF section name for global data
  std::string kernel_name;  // the name given to the kernel (at most 15 characters)
  MapOrigin origin = MapOrigin::BtfDefined;
  MapDefinition def;
  std::optional<MapDefinition> inner;  // map-in-map: the template of the inner maps
  std::string section;
  std::uint64_t section_offset = 0;
  std::vector<std::uint8_t> initial_value;  // Data/Rodata: the section's bytes
  std::vector<InitialSlot> slots;

  bool frozen_after_init() const { return origin == MapOrigin::Rodata || origin == MapOrigin::Kconfig; }
};

enum class ExternKind : std::uint8_t {
  Kconfig,  // a CONFIG_* value in the .kconfig map
  Ksym,     // a kernel variable: typed (BTF id) or typeless (address)
  Kfunc,    // a kernel function called by BTF id
};
const char* extern_kind_name(ExternKind kind);

// How a .kconfig value is stored (libbpf's kcfg_type).
enum class KconfigType : std::uint8_t { None, Bool, Char, Int, Tristate, CharArray };
const char* kconfig_type_name(KconfigType type);
// Whether a value of `type` can be `size` bytes, as libbpf sizes them: bool,
// char 1; int 1, 2, 4 or 8; tristate 4; char array 1 or more. The reader
// derives sizes from BTF; a manifest carries them, and is held to this rule.
bool kconfig_size_fits(KconfigType type, std::uint32_t size);

// Where a .kconfig extern's value comes from, by its name, as libbpf
// decides: CONFIG_* from the kernel's configuration; three LINUX_* names
// libbpf computes from the running kernel; any other LINUX_* name is 0 if
// the extern is weak. Every other name is refused (libbpf's "unrecognized
// virtual extern").
enum class KconfigSource : std::uint8_t {
  Config,
  KernelVersion,       // LINUX_KERNEL_VERSION
  HasBpfCookie,        // LINUX_HAS_BPF_COOKIE
  HasSyscallWrapper,   // LINUX_HAS_SYSCALL_WRAPPER
  UnknownLinux,        // another LINUX_* name: 0 when weak
  Unrecognized,
};
KconfigSource kconfig_source(std::string_view name);

struct Extern {
  std::string name;
  ExternKind kind = ExternKind::Ksym;
  bool weak = false;        // unresolved weak externs become 0 instead of failing the load
  bool typed = false;       // Ksym: has a BTF type; Kfunc: always typed
  std::uint32_t btf_id = 0;       // the VAR or FUNC in the object's BTF
  std::uint32_t type_id = 0;      // the variable's type (typed ksym) or FUNC_PROTO (kfunc)
  std::uint32_t kconfig_offset = 0;  // Kconfig: offset in the .kconfig map value
  std::uint32_t kconfig_size = 0;
  std::uint32_t kconfig_align = 0;
  KconfigType kconfig_type = KconfigType::None;
  bool kconfig_signed = false;
};

enum class RelocKind : std::uint8_t {
  MapFd,         // ld_imm64 of a map: imm = the map's fd
  MapValue,      // ld_imm64 of global data: imm = map fd, second imm = offset
  SubprogCall,   // call to a subprogram: already linked, imm is final
  SubprogAddr,   // ld_imm64 of a callback: already linked, imm is final
  KfuncCall,     // call of a kernel function: imm = its BTF id, off = module BTF slot
  KsymAddr,      // ld_imm64 of a kernel variable: BTF id (typed) or address (typeless)
  KconfigValue,  // ld_imm64 into the .kconfig map: imm = map fd, second imm = offset
};
const char* reloc_kind_name(RelocKind kind);

struct Relocation {
  std::uint32_t insn = 0;  // instruction slot in the linked program
  RelocKind kind = RelocKind::MapFd;
  std::uint32_t target = 0;  // map index, extern index, or function index (subprograms)
  std::uint32_t offset = 0;  // MapValue / KconfigValue: byte offset in the map value
};

// A function placed in a linked program: the entry function first, then each
// subprogram in the order libbpf appends them (first use while scanning).
struct PlacedFunction {
  std::string_view name;  // into ProgramStorage::function_names
  std::uint32_t start = 0;  // first slot
  std::uint32_t size = 0;   // slots
};

// A program's parts are views into its ObjectModel's storage: one buffer
// per kind for all programs, so that an object of a thousand programs costs a
// handful of allocations, not thousands.
struct Program {
  std::string name;
  std::string section;
  std::uint64_t section_offset = 0;  // bytes
  SectionKind kind;
  std::span<const isa::RawInsn> insns;  // linked; relocation targets left as placeholders
  std::span<const Relocation> relocations;  // sorted by insn
  std::span<const PlacedFunction> functions;
  std::span<const btf::FuncInfo> func_info;   // insn_off in slots
  std::span<const btf::LineInfo> line_info;   // insn_off in slots
  std::span<const btf::CoreRelo> core_relos;  // insn_off in bytes, as BPF_PROG_LOAD wants
};

// What Program views point into. Moving a model keeps these buffers in
// place; copying would not, so the model is move-only.
struct ProgramStorage {
  std::vector<isa::RawInsn> insns;
  std::vector<Relocation> relocations;
  std::vector<PlacedFunction> functions;
  std::vector<char> function_names;  // each function's name of the object once, back to back; filled before any view
  std::vector<btf::FuncInfo> func_info;
  std::vector<btf::LineInfo> line_info;
  std::vector<btf::CoreRelo> core_relos;
};

struct ObjectModel {
  ObjectModel() = default;
  ObjectModel(ObjectModel&&) noexcept = default;
  ObjectModel& operator=(ObjectModel&&) noexcept = default;
  ObjectModel(const ObjectModel&) = delete;
  ObjectModel& operator=(const ObjectModel&) = delete;
  ~ObjectModel() = default;

  std::string name;  // object name: file name up to its first '.', as libbpf
  std::string license;
  std::optional<std::uint32_t> kernel_version;
  std::vector<Program> programs;  // by section index, then offset
  std::vector<Map> maps;          // BTF-defined/legacy in definition order, then global data by section, then .kconfig
  std::vector<Extern> externs;
  std::optional<btf::Btf> btf;  // fixed up; serialize() gives what BPF_BTF_LOAD gets
  bool has_btf_ext = false;
  ProgramStorage storage;  // every program's instructions, relocations, ... (see Program)

  const Map* find_map(std::string_view name) const;
  const Program* find_program(std::string_view name) const;
};

}  // namespace bpfsign::object
