#include "bpfsign/btf/btf.hpp"

#include <algorithm>
#include <array>
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
// may close a loop. They sit in the type's words as at most two strided
// runs (FUNC_PROTO: its return type, then its parameters). PTR, INT, ENUM,
// FWD and FLOAT contain none; void (0) closes nothing.
//
// Where each kind keeps them is a table rather than a switch: the loop
// check asks for every type, and the kinds of consecutive types follow no
// pattern a branch predictor could learn.
struct RunShape {
  std::uint8_t word = 0;      // first reference's word in the type
  std::uint8_t stride = 0;    // words between references
  std::uint8_t fixed = 0;     // references regardless of vlen
  std::uint8_t per_vlen = 0;  // 1: one more per vlen entry
};
struct RefShape {
  RunShape first, second;
};

constexpr RefShape shape_of(Kind k) {
  switch (k) {
    case Kind::Typedef: case Kind::Volatile: case Kind::Const: case Kind::Restrict: case Kind::TypeTag:
    case Kind::Func: case Kind::Var: case Kind::DeclTag:
      return {{2, 1, 1, 0}, {}};
    case Kind::Array: return {{3, 1, 2, 0}, {}};  // element type, index type
    case Kind::Struct: case Kind::Union: return {{4, 3, 0, 1}, {}};
    case Kind::Datasec: return {{3, 3, 0, 1}, {}};
    case Kind::FuncProto: return {{2, 1, 1, 0}, {4, 2, 0, 1}};  // return type, parameters
    default: return {};
  }
}

constexpr auto kRefShapes = [] {
  std::array<RefShape, 32> t{};  // by the 5-bit kind field; parse refuses kinds past kMaxKind
  for (std::size_t k = 0; k <= kMaxKind; ++k) t[k] = shape_of(static_cast<Kind>(k));
  return t;
}();

// Where the walk over one type's by-value references stands: the current
// run, then the second; 32 bytes, so that the search's stack stays cheap.
struct ValueRefs {
  const std::uint32_t* at;
  const std::uint32_t* then;
  std::uint32_t left, then_left;
  std::uint32_t id;
  std::uint8_t stride, then_stride;

  ValueRefs(const Btf& btf, std::uint32_t type) : id(type) {  // `type`'s fields checked
    const std::uint32_t* w = btf.words(type);
    const std::uint32_t vlen = w[1] & 0xffffu;
    const RefShape& shape = kRefShapes[(w[1] >> 24) & 0x1f];
    at = w + shape.first.word;
    stride = shape.first.stride;
    left = shape.first.fixed + shape.first.per_vlen * vlen;
    then = w + shape.second.word;
    then_stride = shape.second.stride;
    then_left = shape.second.fixed + shape.second.per_vlen * vlen;
  }
};
static_assert(sizeof(ValueRefs) == 32);

// The structural rules of one type. Every type is first checked without
// explaining (no Error built, no message formatted: the `why` lambdas are
// never called); only a type that fails is checked again to say why. One
// set of rules, paid for in full only once. Two instantiations rather than
// one that writes an Error on failure: without the formatting at every
// failure site the hot one stays small (measured: one instantiation made
// reading the largest corpus object ~4% slower).
template <bool kExplain>
bool check_type(const Btf& btf, std::uint32_t id, std::uint64_t byte_offset, Error* why) {
  auto fail = [&](auto&& make_error) {
    if constexpr (kExplain) {
      *why = make_error().with_context(fmt::format("type [{}] ({}) at offset {}", id, kind_name(btf.kind(id)), byte_offset));
    }
    return false;
  };
  const std::uint32_t* w = btf.words(id);
  const std::uint32_t info = w[1];
  if ((info & 0x60ff0000u) != 0) return fail([&] { return bad_input("reserved bits set in info 0x{:08x}", info); });
  if (!btf.valid_string(w[0])) {
    return fail([&] { return bad_input("name offset {} is outside the {}-byte string section", w[0], btf.string_section_size()); });
  }
  const Kind k = btf.kind(id);
  const std::uint32_t vlen = btf.vlen(id);
  auto bad_ref = [&](std::uint32_t ref, const char* what) {
    return fail([&] { return bad_input("{} refers to type [{}], but only {} types exist", what, ref, btf.type_count()); });
  };
  auto bad_name = [&](std::uint32_t off, const char* what) {
    return fail([&] { return bad_input("{} name offset {} is outside the string section", what, off); });
  };
  const bool vlen_must_be_zero = k == Kind::Int || k == Kind::Ptr || k == Kind::Array || k == Kind::Fwd ||
                                 is_modifier(k) || k == Kind::Var || k == Kind::Float || k == Kind::DeclTag;
  if (vlen_must_be_zero && vlen != 0) return fail([&] { return bad_input("vlen {} must be 0", vlen); });
  switch (k) {
    case Kind::Int: {
      const std::uint32_t size = w[2];
      const std::uint32_t enc = w[3];
      const std::uint32_t bits = enc & 0xff, offset = (enc >> 16) & 0xff;
      if ((enc & 0xf000ff00u) != 0 || bits > 128 || size > 16 || bits + offset > size * 8) {
        return fail([&] { return bad_input("invalid INT encoding 0x{:08x} for size {}", enc, size); });
      }
      return true;
    }
    case Kind::Ptr: case Kind::Typedef: case Kind::Volatile: case Kind::Const: case Kind::Restrict:
    case Kind::TypeTag: case Kind::DeclTag:
      if (!btf.valid_id(w[2])) return bad_ref(w[2], "type");
      return true;
    case Kind::Func:
      if (vlen > 2) return fail([&] { return bad_input("FUNC linkage {} is not static, global or extern", vlen); });
      if (!btf.valid_id(w[2])) return bad_ref(w[2], "type");
      if (w[2] == 0 || btf.kind(w[2]) != Kind::FuncProto) {
        return fail([&] { return bad_input("FUNC must refer to a FUNC_PROTO, not type [{}]", w[2]); });
      }
      return true;
    case Kind::Var:
      if (w[3] > 2) return fail([&] { return bad_input("VAR linkage {} is unknown", w[3]); });
      if (!btf.valid_id(w[2])) return bad_ref(w[2], "type");
      return true;
    case Kind::Array:
      if (!btf.valid_id(w[3])) return bad_ref(w[3], "element type");
      if (!btf.valid_id(w[4])) return bad_ref(w[4], "index type");
      return true;
    case Kind::Struct: case Kind::Union: case Kind::FuncProto: {
      const std::uint32_t stride = k == Kind::FuncProto ? 2 : 3;
      const char* what = k == Kind::FuncProto ? "parameter" : "member";
      const std::uint32_t* m = w + 3;  // name_off, type[, offset]
      for (std::uint32_t i = 0; i < vlen; ++i, m += stride) {
        if (!btf.valid_id(m[1])) return bad_ref(m[1], what);
        if (!btf.valid_string(m[0])) return bad_name(m[0], "member");
      }
      if (k == Kind::FuncProto && !btf.valid_id(w[2])) return bad_ref(w[2], "return type");
      return true;
    }
    case Kind::Enum: case Kind::Enum64: {
      const std::uint32_t size = w[2];
      if (size != 1 && size != 2 && size != 4 && size != 8) return fail([&] { return bad_input("enum size {} is not 1, 2, 4 or 8", size); });
      const std::uint32_t stride = k == Kind::Enum ? 2 : 3;
      const std::uint32_t* e = w + 3;
      for (std::uint32_t i = 0; i < vlen; ++i, e += stride) {
        if (!btf.valid_string(e[0])) return bad_name(e[0], "enumerator");
      }
      return true;
    }
    case Kind::Datasec: {
      const std::uint32_t* v = w + 3;  // type, offset, size
      for (std::uint32_t i = 0; i < vlen; ++i, v += 3) {
        if (!btf.valid_id(v[0])) return bad_ref(v[0], "section variable");
      }
      return true;
    }
    case Kind::Fwd: case Kind::Float:
      return true;
    case Kind::Void:
      break;
  }
  return fail([&] { return bad_input("unknown kind"); });
}

// Checks every type's fields, and that no type contains itself by value,
// in one depth-first walk: each type is checked when the walk first meets
// it, before its references are followed (so they are valid ids), and its
// words are read while at hand. Iterative: input-controlled chains may be
// a million types long, so no recursion.
Status check_types(const Btf& btf, const std::uint32_t* offsets) {
  const std::uint32_t n = btf.type_count() + 1;
  enum : std::uint8_t { kWhite, kGrey, kBlack };
  std::vector<std::uint8_t> colour(n, kWhite);
  colour[0] = kBlack;  // void
  std::vector<ValueRefs> stack;
  // Whether a run of references is all settled (loop-free) already.
  auto settled = [&](const std::uint32_t* at, std::uint32_t left, std::uint32_t stride) {
    for (; left != 0; --left, at += stride) {
      if (colour[*at] != kBlack) return false;
    }
    return true;
  };
  // Checks a type met for the first time. One whose by-value references
  // are all settled (most: clang numbers shared types first) is settled at
  // once; the others are pushed, to be searched.
  auto meet = [&](std::uint32_t id, Status& status) {
    if (!check_type<false>(btf, id, 0, nullptr)) {
      Error why;
      if (check_type<true>(btf, id, std::uint64_t{offsets[id]} * 4, &why)) {
        internal_error("a BTF type check disagrees with itself");
      }
      status = std::move(why);
      return false;
    }
    const ValueRefs refs(btf, id);
    if (settled(refs.at, refs.left, refs.stride) && settled(refs.then, refs.then_left, refs.then_stride)) {
      colour[id] = kBlack;
      return true;
    }
    colour[id] = kGrey;
    stack.push_back(refs);
    return true;
  };
  Status status = Ok{};
  for (std::uint32_t root = 1; root < n; ++root) {
    if (colour[root] != kWhite) continue;
    if (!meet(root, status)) return status;
    while (!stack.empty()) {
      // The top type's references are walked in local variables (kept in
      // registers) up to the first not yet settled, and the position saved
      // once: walking the frame in memory stalls on every step, its
      // fields being stored and reloaded at different widths.
      ValueRefs& top = stack.back();
      const std::uint32_t* at = top.at;
      std::uint32_t left = top.left;
      std::uint32_t stride = top.stride;
      std::uint32_t next = 0;
      for (;;) {
        while (left != 0) {
          const std::uint32_t ref = *at;
          at += stride;
          --left;
          const std::uint8_t c = colour[ref];
          if (c == kBlack) continue;
          if (c == kGrey) {
            return bad_input("type [{}] ({}) is part of a reference loop that no pointer breaks", ref, kind_name(btf.kind(ref)));
          }
          next = ref;
          break;
        }
        if (next != 0 || top.then_left == 0) break;
        at = top.then, left = top.then_left, stride = top.then_stride;
        top.then_left = 0;
      }
      if (next == 0) {
        colour[top.id] = kBlack;
        stack.pop_back();
        continue;
      }
      top.at = at, top.left = left, top.stride = static_cast<std::uint8_t>(stride);
      if (!meet(next, status)) return status;
    }
  }
  return Ok{};
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
  btf.strings_.assign(strings->begin(), strings->end());
  btf.types_.resize(hdr->type_len / 4);
  if (hdr->type_len != 0) std::memcpy(btf.types_.data(), types->data(), hdr->type_len);
  const std::size_t total = btf.types_.size();
  btf.offsets_.reserve(total / 3 + 1);  // every type takes at least 3 words
  btf.offsets_.push_back(0);            // void
  std::size_t count = 1;  // ids so far, void included
  for (std::size_t pos = 0; pos < total;) {
    const std::uint64_t byte_offset = std::uint64_t{pos} * 4;
    if (total - pos < 3) return bad_input("BTF type at offset {}: {} bytes left, a type needs 12", byte_offset, (total - pos) * 4);
    const std::uint32_t info = btf.types_[pos + 1];
    const std::uint32_t kind = (info >> 24) & 0x1f;
    if (kind == 0 || kind > kMaxKind) return bad_input("BTF type [{}] at offset {}: unknown kind {}", count, byte_offset, kind);
    const std::uint64_t words = 3 + std::uint64_t{extra_words(static_cast<Kind>(kind), info & 0xffff)};
    if (words > total - pos) {
      return bad_input("BTF type [{}] at offset {}: {} record needs {} bytes, only {} left", count,
                       byte_offset, kind_name(static_cast<Kind>(kind)), words * 4, (total - pos) * 4);
    }
    if (count > kMaxTypeId) return bad_input("BTF has more than {} types", kMaxTypeId);
    btf.offsets_.push_back(static_cast<std::uint32_t>(pos));
    ++count;
    pos += static_cast<std::size_t>(words);
  }
  if (auto s = check_types(btf, btf.offsets_.data()); !s) return s.error();
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
    if (kind(id) == k && string_is(name_off(id), wanted)) return id;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> Btf::find_any(std::string_view wanted) const {
  for (std::uint32_t id = 1; id <= type_count(); ++id) {
    if (string_is(name_off(id), wanted)) return id;
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
