// BTF type kinds and the fixed parts of the BTF wire format
// (include/uapi/linux/btf.h). Values are ABI: the kernel checks them.
#pragma once

#include <cstdint>
#include <string_view>

namespace bpfsign::btf {

enum class Kind : std::uint8_t {
  Void = 0,  // only type id 0; never encoded
  Int = 1,
  Ptr = 2,
  Array = 3,
  Struct = 4,
  Union = 5,
  Enum = 6,
  Fwd = 7,
  Typedef = 8,
  Volatile = 9,
  Const = 10,
  Restrict = 11,
  Func = 12,
  FuncProto = 13,
  Var = 14,
  Datasec = 15,
  Float = 16,
  DeclTag = 17,
  TypeTag = 18,
  Enum64 = 19,
};
inline constexpr std::uint8_t kMaxKind = 19;

inline constexpr std::uint16_t kMagic = 0xeB9F;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::uint32_t kHeaderSize = 24;
// Kernel limits (kernel/bpf/btf.c): type ids and string offsets fit 20 and 24 bits.
inline constexpr std::uint32_t kMaxTypeId = 0x000fffff;
inline constexpr std::uint32_t kMaxStringOffset = 0x00ffffff;

// VAR linkage and FUNC linkage (FUNC keeps it in vlen).
enum class VarLinkage : std::uint32_t { Static = 0, GlobalAllocated = 1, GlobalExtern = 2 };
enum class FuncLinkage : std::uint32_t { Static = 0, Global = 1, Extern = 2 };

// Words (u32) that follow the 12-byte common header, per kind. Inline:
// parsing calls it for every type.
inline std::uint32_t extra_words(Kind kind, std::uint32_t vlen) {
  switch (kind) {
    case Kind::Int: case Kind::Var: case Kind::DeclTag: return 1;
    case Kind::Array: return 3;
    case Kind::Struct: case Kind::Union: case Kind::Datasec: case Kind::Enum64: return 3 * vlen;
    case Kind::Enum: case Kind::FuncProto: return 2 * vlen;
    default: return 0;
  }
}

std::string_view kind_name(Kind kind);

inline constexpr std::uint32_t make_info(Kind kind, std::uint32_t vlen, bool kflag) {
  return (kflag ? 0x80000000u : 0u) | (static_cast<std::uint32_t>(kind) << 24) | (vlen & 0xffffu);
}

}  // namespace bpfsign::btf
