// .BTF.ext: per-section function info, line info and CO-RE relocation
// records. Instruction offsets stay in bytes within their ELF section, as
// clang wrote them; the object reader checks them against the sections and
// converts them when it links programs.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "bpfsign/btf/btf.hpp"

namespace bpfsign::btf {

// The records are trivial types (no default member initialisers) so that
// vectors of them are copied as blocks when programs are linked.
struct FuncInfo {
  std::uint32_t insn_off;
  std::uint32_t type_id;  // a FUNC
};

struct LineInfo {
  std::uint32_t insn_off;
  std::uint32_t file_name_off;
  std::uint32_t line_off;
  std::uint32_t line_col;  // line << 10 | column
};

// enum bpf_core_relo_kind (include/uapi/linux/bpf.h)
enum class CoreReloKind : std::uint32_t {
  FieldByteOffset = 0, FieldByteSize = 1, FieldExists = 2, FieldSigned = 3, FieldLShiftU64 = 4,
  FieldRShiftU64 = 5, TypeIdLocal = 6, TypeIdTarget = 7, TypeExists = 8, TypeSize = 9,
  EnumvalExists = 10, EnumvalValue = 11, TypeMatches = 12,
};
inline constexpr std::uint32_t kMaxCoreReloKind = 12;
const char* core_relo_kind_name(CoreReloKind kind);

struct CoreRelo {
  std::uint32_t insn_off;
  std::uint32_t type_id;
  std::uint32_t access_str_off;
  CoreReloKind kind;
};

// The records are handed to BPF_PROG_LOAD as they are: same layouts as the
// kernel's struct bpf_func_info, bpf_line_info and bpf_core_relo.
static_assert(sizeof(FuncInfo) == 8 && sizeof(LineInfo) == 16 && sizeof(CoreRelo) == 16);
static_assert(std::is_trivial_v<FuncInfo> && std::is_trivial_v<LineInfo> && std::is_trivial_v<CoreRelo>);

template <typename Record>
struct ExtSection {
  std::string section;  // ELF section the records belong to
  std::vector<Record> records;
};

// Record sizes as the kernel's bpf_func_info, bpf_line_info, bpf_core_relo.
inline constexpr std::uint32_t kFuncInfoSize = 8;
inline constexpr std::uint32_t kLineInfoSize = 16;
inline constexpr std::uint32_t kCoreReloSize = 16;

struct BtfExt {
  std::vector<ExtSection<FuncInfo>> func_info;
  std::vector<ExtSection<LineInfo>> line_info;
  std::vector<ExtSection<CoreRelo>> core_relos;

  // Checks every string offset and type id against `btf`.
  static Result<BtfExt> parse(Bytes data, const Btf& btf);
};

}  // namespace bpfsign::btf
