// A parsed, validated BTF blob: the object's type information as the kernel
// will receive it. Types are kept as the wire format's 32-bit words so that
// fixups edit exactly what is sent and serialize() gives back the bytes.
//
// parse() accepts what the kernel's BTF loader would accept structurally
// (header, kinds, sizes, string offsets, type references, reference loops
// that no pointer breaks); the kernel's finer semantic checks (identifier
// syntax, member layout) remain the kernel's.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <optional>
#include <string_view>
#include <vector>

#include "bpfsign/btf/btf_kinds.hpp"
#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"

namespace bpfsign::btf {

struct Member {  // STRUCT/UNION member, or FUNC_PROTO parameter (offset unused)
  std::uint32_t name_off = 0;
  std::uint32_t type = 0;
  std::uint32_t offset = 0;  // bit offset; with kflag, bitfield size in the top 8 bits
};

struct ArrayInfo {
  std::uint32_t type = 0;
  std::uint32_t index_type = 0;
  std::uint32_t nelems = 0;
};

struct VarSecinfo {
  std::uint32_t type = 0;
  std::uint32_t offset = 0;
  std::uint32_t size = 0;
};

class Btf {
 public:
  static Result<Btf> parse(Bytes data);

  // Number of types, not counting `void` (id 0). Valid ids are 1..type_count().
  std::uint32_t type_count() const { return static_cast<std::uint32_t>(offsets_.size() - 1); }
  bool valid_id(std::uint32_t id) const { return id < offsets_.size(); }

  Kind kind(std::uint32_t id) const {
    return id == 0 ? Kind::Void : static_cast<Kind>((word(id, 1) >> 24) & 0x1f);
  }
  std::uint32_t vlen(std::uint32_t id) const { return word(id, 1) & 0xffffu; }
  bool kflag(std::uint32_t id) const { return (word(id, 1) >> 31) != 0; }
  std::uint32_t name_off(std::uint32_t id) const { return word(id, 0); }
  std::string_view name(std::uint32_t id) const { return id == 0 ? "" : string_at(name_off(id)); }
  // `size` for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT/ENUM64, `type` for the rest.
  std::uint32_t size_or_type(std::uint32_t id) const { return word(id, 2); }

  std::vector<Member> members(std::uint32_t id) const;  // STRUCT, UNION, FUNC_PROTO
  ArrayInfo array(std::uint32_t id) const;
  VarLinkage var_linkage(std::uint32_t id) const { return static_cast<VarLinkage>(word(id, 3)); }
  std::vector<VarSecinfo> datasec_vars(std::uint32_t id) const;
  std::uint32_t int_encoding(std::uint32_t id) const { return word(id, 3); }

  // A string of the string section; "" for an offset that is not inside it.
  std::string_view string_at(std::uint32_t offset) const;
  // string_at(offset) == wanted, compared in place: searches over every
  // type's name ask this once per type, and most names differ in length
  // or first byte, so no length is taken and nothing is called for them.
  bool string_is(std::uint32_t offset, std::string_view wanted) const {
    if (offset >= strings_.size() || strings_.size() - offset <= wanted.size()) return false;
    const char* s = strings_.data() + offset;
    if (s[wanted.size()] != '\0' || (!wanted.empty() && s[0] != wanted[0])) return false;
    return std::memcmp(s, wanted.data(), wanted.size()) == 0 &&
           std::memchr(s, '\0', wanted.size()) == nullptr;  // a NUL inside `wanted` would end the string early
  }
  bool valid_string(std::uint32_t offset) const { return offset < strings_.size(); }

  std::optional<std::uint32_t> find(std::string_view name, Kind kind) const;
  std::optional<std::uint32_t> find_any(std::string_view name) const;  // first type of that name
  std::uint32_t skip_modifiers_and_typedefs(std::uint32_t id) const;
  // Size in bytes of a value of type `id`, as libbpf's btf__resolve_size.
  Result<std::uint64_t> resolve_size(std::uint32_t id) const;
  Result<std::uint32_t> alignment(std::uint32_t id, int depth = 0) const;

  // --- edits, for the fixups done before the kernel sees the BTF ---
  void set_word(std::uint32_t id, std::uint32_t index, std::uint32_t value);
  std::uint32_t word(std::uint32_t id, std::uint32_t index) const { return types_[offsets_[id] + index]; }
  // The words of type `id` (>= 1), validated by parse: word_count(id) of them.
  const std::uint32_t* words(std::uint32_t id) const { return types_.data() + offsets_[id]; }
  std::uint32_t word_count(std::uint32_t id) const;
  // Returns the offset of `s`, reusing an identical existing string.
  std::uint32_t add_string(std::string_view s);
  // Replaces `from` by `to` in the string at `offset` (in place: other types
  // sharing the string see the change, as with libbpf).
  void replace_string_chars(std::uint32_t offset, char from, char to);
  std::uint32_t add_int(std::string_view name, std::uint32_t byte_size, std::uint32_t encoding);
  std::uint32_t add_var(std::string_view name, std::uint32_t type, VarLinkage linkage);

  std::vector<std::uint8_t> serialize() const;
  std::size_t string_section_size() const { return strings_.size(); }

 private:
  std::uint32_t append_type(std::vector<std::uint32_t> words);

  std::vector<std::uint32_t> types_;    // the type section, as words
  std::vector<std::uint32_t> offsets_;  // word offset of each type; [0] is void
  std::vector<char> strings_;
};

}  // namespace bpfsign::btf
