#include "bpfsign/btf/btf.hpp"

#include <cstring>

#include "bpfsign/common/checked_math.hpp"

namespace bpfsign::btf {

namespace {

struct Header {
  std::uint16_t magic;
  std::uint8_t version;
  std::uint8_t flags;
  std::uint32_t hdr_len;
  std::uint32_t type_off;
  std::uint32_t type_len;
  std::uint32_t str_off;
  std::uint32_t str_len;
};
static_assert(sizeof(Header) == kHeaderSize);

bool is_modifier(Kind k) {
  return k == Kind::Typedef || k == Kind::Volatile || k == Kind::Const || k == Kind::Restrict ||
         k == Kind::TypeTag;
}

// The types a type contains "by value": those whose layout is part of its
// own. A loop of by-value references has no finite layout; only a pointer
// may close a loop. They are read straight from the type's words, as at
// most two strided runs (FUNC_PROTO: its return type, then its parameters).
struct ValueRefs {
  std::uint32_t id = 0;
  const std::uint32_t* at = nullptr;
  std::uint32_t stride = 0, left = 0;
  const std::uint32_t* then = nullptr;
  std::uint32_t then_stride = 0, then_left = 0;

  // The next reference, or 0 once there is none (0, void, closes nothing).
  std::uint32_t next() {
    if (left == 0) {
      if (then_left == 0) return 0;
      at = then, stride = then_stride, left = then_left, then_left = 0;
    }
    const std::uint32_t ref = *at;
    at += stride;
    --left;
    return ref;
  }
  bool done() const { return left == 0 && then_left == 0; }
};

ValueRefs value_refs(const Btf& btf, std::uint32_t id) {
  const std::uint32_t* w = btf.words(id);
  const std::uint32_t vlen = btf.vlen(id);
  switch (btf.kind(id)) {
    case Kind::Typedef: case Kind::Volatile: case Kind::Const: case Kind::Restrict: case Kind::TypeTag:
    case Kind::Func: case Kind::Var: case Kind::DeclTag:
      return {id, w + 2, 1, 1};
    case Kind::Array:
      return {id, w + 3, 1, 2};  // element type, index type
    case Kind::Struct: case Kind::Union:
      return {id, w + 4, 3, vlen};
    case Kind::Datasec:
      return {id, w + 3, 3, vlen};
    case Kind::FuncProto:
      return {id, w + 2, 1, 1, w + 4, 2, vlen};
    default:  // PTR breaks loops; INT, ENUM, FWD, FLOAT refer to nothing
      return {id};
  }
}

// Iterative depth-first search: input-controlled chains may be a million
// types long, so no recursion.
Status check_no_value_loops(const Btf& btf) {
  const std::uint32_t n = btf.type_count() + 1;
  enum : std::uint8_t { kWhite, kGrey, kBlack };
  std::vector<std::uint8_t> colour(n, kWhite);
  std::vector<ValueRefs> stack;
  for (std::uint32_t root = 1; root < n; ++root) {
    if (colour[root] != kWhite) continue;
    ValueRefs refs = value_refs(btf, root);
    if (refs.done()) {
      colour[root] = kBlack;
      continue;
    }
    stack.push_back(refs);
    colour[root] = kGrey;
    while (!stack.empty()) {
      ValueRefs& top = stack.back();
      if (top.done()) {
        colour[top.id] = kBlack;
        stack.pop_back();
        continue;
      }
      const std::uint32_t ref = top.next();
      if (ref == 0 || colour[ref] == kBlack) continue;
      if (colour[ref] == kGrey) {
        return bad_input("type [{}] ({}) is part of a reference loop that no pointer breaks", ref, kind_name(btf.kind(ref)));
      }
      ValueRefs inner = value_refs(btf, ref);
      if (inner.done()) {
        colour[ref] = kBlack;
        continue;
      }
      colour[ref] = kGrey;
      stack.push_back(inner);  // `top` is invalid from here
    }
  }
  return Ok{};
}

Status check_type(const Btf& btf, std::uint32_t id, std::uint64_t byte_offset) {
  auto fail = [&](const Error& e) -> Status {
    return e.with_context(fmt::format("type [{}] ({}) at offset {}", id, kind_name(btf.kind(id)), byte_offset));
  };
  const std::uint32_t info = btf.word(id, 1);
  if ((info & 0x60ff0000u) != 0) return fail(bad_input("reserved bits set in info 0x{:08x}", info));
  if (!btf.valid_string(btf.name_off(id))) {
    return fail(bad_input("name offset {} is outside the {}-byte string section", btf.name_off(id),
                          btf.string_section_size()));
  }
  const Kind k = btf.kind(id);
  const std::uint32_t vlen = btf.vlen(id);
  auto check_ref = [&](std::uint32_t ref, const char* what) -> Status {
    if (!btf.valid_id(ref)) return fail(bad_input("{} refers to type [{}], but only {} types exist", what, ref, btf.type_count()));
    return Ok{};
  };
  auto check_name = [&](std::uint32_t off, const char* what) -> Status {
    if (!btf.valid_string(off)) return fail(bad_input("{} name offset {} is outside the string section", what, off));
    return Ok{};
  };
  const bool vlen_must_be_zero = k == Kind::Int || k == Kind::Ptr || k == Kind::Array || k == Kind::Fwd ||
                                 is_modifier(k) || k == Kind::Var || k == Kind::Float || k == Kind::DeclTag;
  if (vlen_must_be_zero && vlen != 0) return fail(bad_input("vlen {} must be 0", vlen));
  switch (k) {
    case Kind::Int: {
      const std::uint32_t size = btf.size_or_type(id);
      const std::uint32_t enc = btf.int_encoding(id);
      const std::uint32_t bits = enc & 0xff, offset = (enc >> 16) & 0xff;
      if ((enc & 0xf000ff00u) != 0 || bits > 128 || size > 16 || bits + offset > size * 8) {
        return fail(bad_input("invalid INT encoding 0x{:08x} for size {}", enc, size));
      }
      return Ok{};
    }
    case Kind::Ptr: case Kind::Typedef: case Kind::Volatile: case Kind::Const: case Kind::Restrict:
    case Kind::TypeTag:
      return check_ref(btf.size_or_type(id), "type");
    case Kind::Func:
      if (vlen > 2) return fail(bad_input("FUNC linkage {} is not static, global or extern", vlen));
      if (auto s = check_ref(btf.size_or_type(id), "type"); !s) return s;
      if (btf.size_or_type(id) == 0 || btf.kind(btf.size_or_type(id)) != Kind::FuncProto) {
        return fail(bad_input("FUNC must refer to a FUNC_PROTO, not type [{}]", btf.size_or_type(id)));
      }
      return Ok{};
    case Kind::Var:
      if (btf.word(id, 3) > 2) return fail(bad_input("VAR linkage {} is unknown", btf.word(id, 3)));
      return check_ref(btf.size_or_type(id), "type");
    case Kind::DeclTag:
      return check_ref(btf.size_or_type(id), "type");
    case Kind::Array: {
      auto a = btf.array(id);
      if (auto s = check_ref(a.type, "element type"); !s) return s;
      return check_ref(a.index_type, "index type");
    }
    case Kind::Struct: case Kind::Union: case Kind::FuncProto: {
      const std::uint32_t stride = k == Kind::FuncProto ? 2 : 3;
      for (std::uint32_t i = 0; i < vlen; ++i) {
        if (auto s = check_ref(btf.word(id, 4 + stride * i), k == Kind::FuncProto ? "parameter" : "member"); !s) return s;
        if (auto s = check_name(btf.word(id, 3 + stride * i), "member"); !s) return s;
      }
      if (k == Kind::FuncProto) return check_ref(btf.size_or_type(id), "return type");
      return Ok{};
    }
    case Kind::Enum: case Kind::Enum64: {
      const std::uint32_t size = btf.size_or_type(id);
      if (size != 1 && size != 2 && size != 4 && size != 8) return fail(bad_input("enum size {} is not 1, 2, 4 or 8", size));
      const std::uint32_t stride = k == Kind::Enum ? 2 : 3;
      for (std::uint32_t i = 0; i < vlen; ++i) {
        if (auto s = check_name(btf.word(id, 3 + i * stride), "enumerator"); !s) return s;
      }
      return Ok{};
    }
    case Kind::Datasec:
      for (std::uint32_t i = 0; i < vlen; ++i) {
        if (auto s = check_ref(btf.word(id, 3 + 3 * i), "section variable"); !s) return s;
      }
      return Ok{};
    case Kind::Fwd: case Kind::Float:
      return Ok{};
    case Kind::Void:
      break;
  }
  return fail(bad_input("unknown kind"));
}

}  // namespace

std::string_view kind_name(Kind kind) {
  static constexpr std::string_view kNames[] = {
      "VOID", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST",
      "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"};
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "UNKNOWN";
}

Result<Btf> Btf::parse(Bytes data) {
  ByteReader reader(data);
  auto hdr = reader.read<Header>("BTF header");
  if (!hdr) return hdr.error();
  if (hdr->magic != kMagic) return bad_input("BTF header: magic 0x{:04x}, expected 0x{:04x}", hdr->magic, kMagic);
  if (hdr->version != kVersion) return bad_input("BTF header: version {} is not supported (expected {})", hdr->version, kVersion);
  if (hdr->flags != 0) return bad_input("BTF header: flags 0x{:x} must be 0", hdr->flags);
  if (hdr->hdr_len < kHeaderSize || hdr->hdr_len > data.size()) {
    return bad_input("BTF header: length {} is not within [{}, {}]", hdr->hdr_len, kHeaderSize, data.size());
  }
  for (std::size_t i = kHeaderSize; i < hdr->hdr_len; ++i) {
    if (data[i] != 0) return bad_input("BTF header: unknown header byte {} is not zero", i);
  }
  const Bytes body = data.subspan(hdr->hdr_len);
  auto types = subspan_checked(body, hdr->type_off, hdr->type_len, "BTF type section");
  if (!types) return types.error();
  auto strings = subspan_checked(body, hdr->str_off, hdr->str_len, "BTF string section");
  if (!strings) return strings.error();
  if (hdr->type_off % 4 != 0 || hdr->type_len % 4 != 0) {
    return bad_input("BTF type section at offset {} length {} is not 4-byte aligned", hdr->type_off, hdr->type_len);
  }
  const std::uint64_t type_end = std::uint64_t{hdr->type_off} + hdr->type_len;
  const std::uint64_t str_end = std::uint64_t{hdr->str_off} + hdr->str_len;
  if (hdr->type_off < str_end && hdr->str_off < type_end) return bad_input("BTF type and string sections overlap");
  if (hdr->str_len == 0 || hdr->str_len > kMaxStringOffset + 1) {
    return bad_input("BTF string section length {} is not within [1, {}]", hdr->str_len, kMaxStringOffset + 1);
  }
  if ((*strings)[0] != 0 || strings->back() != 0) {
    return bad_input("BTF string section must start and end with a NUL byte");
  }

  Btf btf;
  btf.strings_.resize(strings->size());
  std::memcpy(btf.strings_.data(), strings->data(), strings->size());
  btf.types_.resize(hdr->type_len / 4);
  if (hdr->type_len != 0) std::memcpy(btf.types_.data(), types->data(), hdr->type_len);
  btf.offsets_.reserve(btf.types_.size() / 3 + 1);
  btf.offsets_.push_back(0);
  const std::size_t total = btf.types_.size();
  for (std::size_t pos = 0; pos < total;) {
    const std::uint64_t byte_offset = std::uint64_t{pos} * 4;
    if (total - pos < 3) return bad_input("BTF type at offset {}: {} bytes left, a type needs 12", byte_offset, (total - pos) * 4);
    const std::uint32_t info = btf.types_[pos + 1];
    const std::uint32_t kind = (info >> 24) & 0x1f;
    if (kind == 0 || kind > kMaxKind) return bad_input("BTF type [{}] at offset {}: unknown kind {}", btf.offsets_.size(), byte_offset, kind);
    const std::uint64_t words = 3 + std::uint64_t{extra_words(static_cast<Kind>(kind), info & 0xffff)};
    if (words > total - pos) {
      return bad_input("BTF type [{}] at offset {}: {} record needs {} bytes, only {} left", btf.offsets_.size(),
                       byte_offset, kind_name(static_cast<Kind>(kind)), words * 4, (total - pos) * 4);
    }
    if (btf.offsets_.size() > kMaxTypeId) return bad_input("BTF has more than {} types", kMaxTypeId);
    btf.offsets_.push_back(static_cast<std::uint32_t>(pos));
    pos += static_cast<std::size_t>(words);
  }
  for (std::uint32_t id = 1; id <= btf.type_count(); ++id) {
    if (auto s = check_type(btf, id, std::uint64_t{btf.offsets_[id]} * 4); !s) return s.error();
  }
  if (auto s = check_no_value_loops(btf); !s) return s.error();
  return btf;
}

std::uint32_t Btf::word_count(std::uint32_t id) const { return 3 + extra_words(kind(id), vlen(id)); }

std::vector<Member> Btf::members(std::uint32_t id) const {
  std::vector<Member> out;
  const Kind k = kind(id);
  const std::uint32_t n = vlen(id);
  out.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    if (k == Kind::FuncProto) {
      out.push_back({word(id, 3 + 2 * i), word(id, 4 + 2 * i), 0});
    } else {
      out.push_back({word(id, 3 + 3 * i), word(id, 4 + 3 * i), word(id, 5 + 3 * i)});
    }
  }
  return out;
}

ArrayInfo Btf::array(std::uint32_t id) const { return {word(id, 3), word(id, 4), word(id, 5)}; }

std::vector<VarSecinfo> Btf::datasec_vars(std::uint32_t id) const {
  std::vector<VarSecinfo> out;
  for (std::uint32_t i = 0; i < vlen(id); ++i) out.push_back({word(id, 3 + 3 * i), word(id, 4 + 3 * i), word(id, 5 + 3 * i)});
  return out;
}

std::string_view Btf::string_at(std::uint32_t offset) const {
  if (offset >= strings_.size()) return {};
  return std::string_view(strings_.data() + offset);  // the section ends with NUL (checked)
}

std::optional<std::uint32_t> Btf::find(std::string_view wanted, Kind k) const {
  for (std::uint32_t id = 1; id <= type_count(); ++id) {
    if (kind(id) == k && name(id) == wanted) return id;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> Btf::find_any(std::string_view wanted) const {
  for (std::uint32_t id = 1; id <= type_count(); ++id) {
    if (name(id) == wanted) return id;
  }
  return std::nullopt;
}

std::uint32_t Btf::skip_modifiers_and_typedefs(std::uint32_t id) const {
  // Loop-free by validation; the bound only guards against misuse.
  for (std::uint32_t steps = 0; steps <= type_count() && is_modifier(kind(id)); ++steps) id = size_or_type(id);
  return id;
}

Result<std::uint64_t> Btf::resolve_size(std::uint32_t id) const {
  std::uint64_t multiplier = 1;
  for (std::uint32_t steps = 0; steps <= type_count(); ++steps) {
    std::uint64_t size = 0;
    switch (kind(id)) {
      case Kind::Int: case Kind::Struct: case Kind::Union: case Kind::Enum: case Kind::Enum64:
      case Kind::Datasec: case Kind::Float:
        size = size_or_type(id);
        break;
      case Kind::Ptr:
        size = 8;  // BPF pointers are 64-bit
        break;
      case Kind::Typedef: case Kind::Volatile: case Kind::Const: case Kind::Restrict: case Kind::TypeTag:
      case Kind::Var: case Kind::DeclTag:
        id = size_or_type(id);
        continue;
      case Kind::Array: {
        auto m = checked_mul(multiplier, array(id).nelems);
        if (!m) return bad_input("type [{}]: array size overflows", id);
        multiplier = *m;
        id = array(id).type;
        continue;
      }
      default:
        return bad_input("type [{}] ({}) has no size", id, kind_name(kind(id)));
    }
    auto total = checked_mul(size, multiplier);
    if (!total || *total > 0xffffffffu) return bad_input("type [{}]: size overflows 32 bits", id);
    return *total;
  }
  return bad_input("type [{}]: size does not resolve", id);
}

Result<std::uint32_t> Btf::alignment(std::uint32_t id, int depth) const {
  if (depth > 32) return bad_input("type [{}]: nested more than 32 levels deep", id);
  id = skip_modifiers_and_typedefs(id);
  switch (kind(id)) {
    case Kind::Int: case Kind::Enum: case Kind::Enum64: case Kind::Float: {
      const std::uint32_t size = size_or_type(id);
      return size < 8 ? size : 8u;
    }
    case Kind::Ptr:
      return 8u;
    case Kind::Array:
      return alignment(array(id).type, depth + 1);
    case Kind::Struct: case Kind::Union: {
      std::uint32_t best = 1;
      for (const auto& m : members(id)) {
        auto a = alignment(m.type, depth + 1);
        if (!a) return a;
        if (*a > best) best = *a;
      }
      return best;
    }
    default:
      return bad_input("type [{}] ({}) has no alignment", id, kind_name(kind(id)));
  }
}

void Btf::set_word(std::uint32_t id, std::uint32_t index, std::uint32_t value) {
  if (!valid_id(id) || id == 0 || index >= word_count(id)) internal_error("Btf::set_word out of range");
  types_[offsets_[id] + index] = value;
}

std::uint32_t Btf::add_string(std::string_view s) {
  // Whole strings only, as libbpf's string set: a suffix of a longer string
  // is not reused.
  for (std::size_t off = 0; off < strings_.size();) {
    std::string_view existing(strings_.data() + off);
    if (existing == s) return static_cast<std::uint32_t>(off);
    off += existing.size() + 1;
  }
  const auto off = static_cast<std::uint32_t>(strings_.size());
  strings_.insert(strings_.end(), s.begin(), s.end());
  strings_.push_back('\0');
  return off;
}

void Btf::replace_string_chars(std::uint32_t offset, char from, char to) {
  for (std::size_t i = offset; i < strings_.size() && strings_[i] != '\0'; ++i) {
    if (strings_[i] == from) strings_[i] = to;
  }
}

std::uint32_t Btf::append_type(std::vector<std::uint32_t> words) {
  offsets_.push_back(static_cast<std::uint32_t>(types_.size()));
  types_.insert(types_.end(), words.begin(), words.end());
  return type_count();
}

std::uint32_t Btf::add_int(std::string_view type_name, std::uint32_t byte_size, std::uint32_t encoding) {
  const std::uint32_t off = add_string(type_name);
  return append_type({off, make_info(Kind::Int, 0, false), byte_size, encoding});
}

std::uint32_t Btf::add_var(std::string_view var_name, std::uint32_t type, VarLinkage linkage) {
  const std::uint32_t off = add_string(var_name);
  return append_type({off, make_info(Kind::Var, 0, false), type, static_cast<std::uint32_t>(linkage)});
}

std::vector<std::uint8_t> Btf::serialize() const {
  Header h{kMagic, kVersion, 0, kHeaderSize, 0, static_cast<std::uint32_t>(types_.size() * 4),
           static_cast<std::uint32_t>(types_.size() * 4), static_cast<std::uint32_t>(strings_.size())};
  std::vector<std::uint8_t> out(sizeof h + types_.size() * 4 + strings_.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!types_.empty()) std::memcpy(out.data() + sizeof h, types_.data(), types_.size() * 4);
  std::memcpy(out.data() + sizeof h + types_.size() * 4, strings_.data(), strings_.size());
  return out;
}

}  // namespace bpfsign::btf
