#include "bpfsign/audit/loader_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <set>
#include <tuple>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/common/stable_sort.hpp"
#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_map_layout.hpp"
#include "bpfsign/abi/helper_ids.hpp"
#include "bpfsign/isa/opcodes.hpp"
#include "bpfsign/loader/context_layout.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::audit {

namespace {

// Context inputs past the fixed header (fds, .kconfig values, runtime settings).
constexpr std::int64_t kSettingsStart = sizeof(loader::ContextHeader);
// The metadata check compares the map's SHA-256 (struct bpf_map's sha[32])
// one 64-bit word at a time.
constexpr std::int64_t kShaWordSize = sizeof(std::uint64_t);
constexpr int kShaWords = static_cast<int>(abi::kSha256Size / kShaWordSize);
constexpr std::int64_t kMapShaEnd = abi::bpf_map::kShaOffset + static_cast<std::int64_t>(abi::kSha256Size);
// A loader's maps are updated as arrays: u32 keys.
constexpr std::uint32_t kArrayKeySize = sizeof(std::uint32_t);
// A program's fd_array holds one s32 fd per entry.
constexpr std::uint32_t kFdArrayEntrySize = sizeof(std::int32_t);

// What a register holds, as far as the decoder can tell.
// What the branches taken so far on a path prove of an input's value.
struct Bounds {
  std::optional<std::int64_t> slo, shi;   // signed comparisons
  std::optional<std::uint64_t> ulo, uhi;  // unsigned comparisons
  std::optional<std::int64_t> only;       // an == that held
  bool operator==(const Bounds&) const = default;
};

struct Val {
  enum class Kind { Unknown, Const, CtxPtr, BlobPtr, StackPtr, MetaMap, MapField, Result, Input } kind = Kind::Unknown;
  Val() = default;
  Val(Kind k, std::int64_t value, std::string what) : kind(k), v(value), desc(std::move(what)) {}
  std::int64_t v = 0;  // Const value; pointer offset; MapField offset; Result id
  std::string desc;    // Result/Input/Unknown: what it is, for people
  Bounds bounds;       // Input: what the path proved of it

  static Val constant(std::int64_t x) { return {Kind::Const, x, {}}; }
  bool is(Kind k) const { return kind == k; }
};

std::string describe(const Val& v) {
  switch (v.kind) {
    case Val::Kind::Const: return std::to_string(v.v);
    case Val::Kind::BlobPtr: return fmt::format("&blob[{}]", v.v);
    case Val::Kind::CtxPtr: return fmt::format("&ctx[{}]", v.v);
    case Val::Kind::StackPtr: return fmt::format("&stack[{}]", v.v);
    case Val::Kind::MetaMap: return "the metadata map";
    case Val::Kind::MapField: return fmt::format("metadata map field +{}", v.v);
    default: return v.desc.empty() ? "unknown" : v.desc;
  }
}

struct Stored {
  std::uint32_t size = 0;
  Val val;
};

class Decoder {
 public:
  Decoder(std::vector<isa::PlacedInstruction> insns, Bytes blob) : insns_(std::move(insns)), blob_(blob.begin(), blob.end()) {
    for (std::size_t i = 0; i < insns_.size(); ++i) index_[insns_[i].pc] = i;
  }

  DecodedLoader run() {
    out_.instructions = insns_.empty() ? 0 : insns_.back().pc + isa::slot_count(insns_.back().insn);
    Regs regs;
    regs[1] = Val{Val::Kind::CtxPtr, 0, {}};
    regs[10] = Val{Val::Kind::StackPtr, 0, {}};
    main_path(regs);
    for (auto& [pc, state] : pending_failures_) failure_path(pc, state);
    for (const auto& p : insns_) {
      if (!main_pcs_.count(p.pc) && !failure_pcs_.count(p.pc)) {
        unexplained(p.pc, "reached by no path the decoder explains (dead or hidden code)");
      }
    }
    if (check_.expected_found == kShaWords) out_.metadata_check = MetadataCheckFound{check_.expected, check_.exclusive};
    // Values that a copy from user or kernel memory (found on any path) may replace.
    for (const auto& [index, off, len, key] : update_values_) {
      for (const auto& [from, n, src] : input_regions_) {
        if (from < off + len && off < from + n) {
          const std::string note = fmt::format(", unless replaced by {} (an input no signature covers)", src);
          out_.commands[index].summary += note;
          for (auto& [k, v] : out_.commands[index].fields) {
            if (k == key) v += note;
          }
        }
      }
    }
    for (const auto& [off, paths] : stored_inputs_) {
      DecodedLoader::BoundedInput b;
      b.context_offset = off;
      for (const auto& p : paths) {
        if (p.only) {
          b.values.push_back(*p.only);
        } else if (p.slo && p.shi) {
          b.signed_ranges.emplace_back(*p.slo, *p.shi);
        } else if (p.ulo && p.uhi) {
          b.unsigned_ranges.emplace_back(*p.ulo, *p.uhi);
        } else {
          b.unbounded = true;
        }
      }
      std::sort(b.values.begin(), b.values.end());
      if (auto t = store_targets_.find(off); t != store_targets_.end()) b.stores = t->second;
      out_.bounded_inputs.push_back(std::move(b));
    }
    for (std::int64_t off : read_inputs_) {
      std::string what = ctx_field(off);
      if (stored_inputs_.count(off)) {
        what = setting_input(off);
      } else if (stored_inputs_.count(off - 8)) {
        what = fmt::format("whether the runtime gives the setting at context +{}", off - 8);
      } else if (auto it = skip_inputs_.find(off); it != skip_inputs_.end()) {
        what = fmt::format("whether to skip {} (a declared optional program)", it->second);
      }
      out_.inputs.push_back({off, what});
    }
    for (const auto& [from, n, src] : input_regions_) {
      if (src.rfind("the runtime setting", 0) != 0) out_.inputs.push_back({-1, fmt::format("{} ({} bytes into &blob[{}])", src, n, from)});
    }
    // Commands of conditional paths were found after the main path: program order.
    stable_sort_vector(out_.commands, [](const Command& a, const Command& b) { return a.pc < b.pc; });
    std::sort(out_.unexplained.begin(), out_.unexplained.end(), [](const Unexplained& a, const Unexplained& b) { return a.pc < b.pc; });
    return std::move(out_);
  }

 private:
  using Regs = std::array<Val, 11>;

  void unexplained(std::size_t pc, std::string why) {
    auto it = index_.find(pc);
    out_.unexplained.push_back({pc, it != index_.end() ? isa::to_string(insns_[it->second].insn) : "?", std::move(why)});
  }

  // --- the blob as the loader sees it: bytes plus symbolic stores ---
  void store_blob(std::int64_t off, std::uint32_t size, const Val& v) {
    if (off < 0 || static_cast<std::uint64_t>(off) + size > blob_.size()) return;
    // A store replaces whatever overlapped it.
    // (Overlays are at most 8 bytes long: only those starting within 8
    // bytes before the store can reach into it.)
    for (auto it = overlay_.lower_bound(off - 8); it != overlay_.end() && it->first < off + size;) {
      if (off < it->first + it->second.size) {
        it = overlay_.erase(it);
      } else {
        ++it;
      }
    }
    if (v.is(Val::Kind::Const)) {
      const std::uint64_t x = static_cast<std::uint64_t>(v.v);
      std::memcpy(blob_.data() + off, &x, size);
    } else {
      overlay_[off] = {size, v};
    }
  }
  Val load_blob(std::int64_t off, std::uint32_t size) const {
    if (auto it = overlay_.find(off); it != overlay_.end() && it->second.size == size) return it->second.val;
    // Part of a value written at run time (the two halves of an address).
    // (Overlays never overlap: the one starting last at or before `off`.)
    if (auto it = overlay_.upper_bound(off); it != overlay_.begin()) {
      const auto& [o, st] = *std::prev(it);
      if (off + size <= o + st.size) {
        Val part = st.val;
        part.desc = fmt::format("bytes {}..{} of {}", off - o, off - o + size - 1, describe(st.val));
        return part;
      }
    }
    if (off < 0 || static_cast<std::uint64_t>(off) + size > blob_.size()) return Val{Val::Kind::Unknown, 0, "outside the blob"};
    std::uint64_t x = 0;
    std::memcpy(&x, blob_.data() + off, size);
    return Val::constant(static_cast<std::int64_t>(x));
  }
  std::string blob_string(const Val& p, std::size_t max = 256) const {
    if (!p.is(Val::Kind::BlobPtr) || p.v < 0 || static_cast<std::size_t>(p.v) >= blob_.size()) return "?";
    std::string s;
    for (auto i = static_cast<std::size_t>(p.v); i < blob_.size() && blob_[i] != 0 && s.size() < max; ++i) s += static_cast<char>(blob_[i]);
    return s;
  }
  Bytes blob_bytes(std::int64_t off, std::uint64_t size) const {
    if (off < 0 || static_cast<std::uint64_t>(off) + size > blob_.size()) return {};
    return Bytes(blob_).subspan(static_cast<std::size_t>(off), static_cast<std::size_t>(size));
  }
  // Symbolic stores inside [off, off + size): the run-time writes into a
  // region (relocations into instructions, fds into an fd_array).
  std::vector<std::pair<std::int64_t, Stored>> overlays_in(std::int64_t off, std::uint64_t size) const {
    std::vector<std::pair<std::int64_t, Stored>> out;
    for (auto it = overlay_.lower_bound(off); it != overlay_.end() && it->first < off + static_cast<std::int64_t>(size); ++it) {
      out.emplace_back(it->first, it->second);
    }
    return out;
  }
  Val at(std::int64_t attr, std::size_t off, std::uint32_t size) const { return load_blob(attr + static_cast<std::int64_t>(off), size); }
  std::string field(std::int64_t attr, std::size_t off, std::uint32_t size) const { return describe(at(attr, off, size)); }

  // The program's references to maps by fd_array index, resolved through
  // the fd_array the loader filled: "instruction 4: map 'counts' + 0".
  void map_references(std::size_t pc, const std::string& program, Bytes code, const Val& fd_array) {
    auto decoded = isa::decode_program(code);
    if (!decoded) {
      unexplained(pc, fmt::format("program '{}' does not decode: {}", program, decoded.error().message));
      return;
    }
    for (const auto& p : *decoded) {
      const auto* l = std::get_if<isa::LoadImm64>(&p.insn);
      if (l == nullptr || (l->src != isa::PseudoSrc::MapIdx && l->src != isa::PseudoSrc::MapIdxValue)) continue;
      std::string target = fmt::format("fd_array[{}]", l->imm);
      if (fd_array.is(Val::Kind::BlobPtr) && l->imm >= 0) {
        target = describe(load_blob(fd_array.v + kFdArrayEntrySize * static_cast<std::int64_t>(l->imm), kFdArrayEntrySize));
      }
      if (target.rfind("fd of ", 0) == 0) target = target.substr(6);
      const std::string what = l->src == isa::PseudoSrc::MapIdx ? target : fmt::format("{} value + {}", target, l->next_imm);
      commands_.push_back({pc, "RELOCATION", fmt::format("program '{}' instruction {}: {}", program, p.pc, what),
                           {{"program", program}, {"insn", std::to_string(p.pc)}, {"value", what}}});
    }
  }

  Val result(std::string desc) { return Val{Val::Kind::Result, next_result_++, std::move(desc)}; }

  // --- one bpf(2) command, decoded from its attr in the blob ---
  static void add_field(Command& c, const char* key, std::string value) { c.fields.emplace_back(key, std::move(value)); }
  // A fixed-size name field of an attr (map_name, prog_name), up to its NUL.
  std::string attr_name(std::int64_t attr, std::size_t offset, std::size_t size) const {
    std::string name;
    for (std::uint8_t ch : blob_bytes(attr + static_cast<std::int64_t>(offset), size)) {
      if (ch == 0) break;
      name += static_cast<char>(ch);
    }
    return name;
  }

  // bpf_sys_bpf(cmd, &blob[attr], size): the command is decoded from the
  // attr as the kernel would read it, each by a step of its own. Only
  // constant commands and attrs in the blob can be followed.
  Val sys_bpf(std::size_t pc, const Regs& r) {
    if (!r[1].is(Val::Kind::Const) || !r[2].is(Val::Kind::BlobPtr) || !r[3].is(Val::Kind::Const)) {
      unexplained(pc, "bpf_sys_bpf with a command or attr the decoder cannot follow");
      return Val{};
    }
    const std::int64_t attr = r[2].v;
    consumed_.emplace_back(attr, r[3].v);  // (sys_bpf is decoded on the main path only)
    Command c;
    c.pc = pc;
    switch (static_cast<abi::BpfCmd>(r[1].v)) {
      case abi::BpfCmd::BtfLoad: return btf_load(std::move(c), attr);
      case abi::BpfCmd::MapCreate: return map_create(std::move(c), attr);
      case abi::BpfCmd::MapUpdateElem: return map_update_elem(std::move(c), attr);
      case abi::BpfCmd::MapFreeze: return map_freeze(std::move(c), attr);
      case abi::BpfCmd::ProgLoad: return prog_load(std::move(c), attr);
      default:
        unexplained(pc, fmt::format("bpf_sys_bpf command {} is not one a loader needs", r[1].v));
        return Val{};
    }
  }

  // BPF_BTF_LOAD: the BTF's size and, parsed from the blob, its type count.
  Val btf_load(Command c, std::int64_t a) {
    c.kind = "BTF_LOAD";
    const Val data = at(a, offsetof(abi::BtfLoadAttr, btf), sizeof(abi::BtfLoadAttr::btf));
    const Val size = at(a, offsetof(abi::BtfLoadAttr, btf_size), sizeof(abi::BtfLoadAttr::btf_size));
    std::string types = "?";
    if (data.is(Val::Kind::BlobPtr) && size.is(Val::Kind::Const)) {
      auto parsed = btf::Btf::parse(blob_bytes(data.v, static_cast<std::uint64_t>(size.v)));
      types = parsed ? std::to_string(parsed->type_count()) : "unparseable: " + parsed.error().message;
      consumed_.emplace_back(data.v, size.v);
    }
    add_field(c, "size", describe(size));
    add_field(c, "types", types);
    c.summary = fmt::format("load BTF: {} bytes, {} types", describe(size), types);
    commands_.push_back(std::move(c));
    return result("fd of the BTF");
  }

  // BPF_MAP_CREATE: the map's definition. Its max_entries is remembered as
  // a field an input may replace, and its value size for the updates.
  Val map_create(Command c, std::int64_t a) {
    using M = abi::MapCreateAttr;
    c.kind = "MAP_CREATE";
    const std::string name = attr_name(a, offsetof(M, map_name), sizeof(M::map_name));
    add_field(c, "name", name);
    add_field(c, "type", field(a, offsetof(M, map_type), sizeof(M::map_type)));
    add_field(c, "key_size", field(a, offsetof(M, key_size), sizeof(M::key_size)));
    add_field(c, "value_size", field(a, offsetof(M, value_size), sizeof(M::value_size)));
    add_field(c, "max_entries", field(a, offsetof(M, max_entries), sizeof(M::max_entries)));
    add_field(c, "flags", field(a, offsetof(M, map_flags), sizeof(M::map_flags)));
    add_field(c, "btf_fd", field(a, offsetof(M, btf_fd), sizeof(M::btf_fd)));
    add_field(c, "btf_key_type_id", field(a, offsetof(M, btf_key_type_id), sizeof(M::btf_key_type_id)));
    add_field(c, "btf_value_type_id", field(a, offsetof(M, btf_value_type_id), sizeof(M::btf_value_type_id)));
    add_field(c, "inner_map_fd", field(a, offsetof(M, inner_map_fd), sizeof(M::inner_map_fd)));
    add_field(c, "map_extra", field(a, offsetof(M, map_extra), sizeof(M::map_extra)));
    c.summary = fmt::format("create map '{}': type {}, key {}, value {}, max_entries {}, flags {}", name, c.fields[1].second,
                            c.fields[2].second, c.fields[3].second, c.fields[4].second, c.fields[5].second);
    const auto vs = at(a, offsetof(M, value_size), sizeof(M::value_size));
    const std::int64_t max_entries = a + static_cast<std::int64_t>(offsetof(M, max_entries));
    update_values_.emplace_back(commands_.size(), max_entries, sizeof(M::max_entries), "max_entries");
    commands_.push_back(std::move(c));
    Val fd = result(fmt::format("fd of map '{}'", name));
    map_attrs_.emplace_back(max_entries, fd.v);
    value_size_[fd.v] = vs.is(Val::Kind::Const) ? static_cast<std::uint32_t>(vs.v) : 0;
    return fd;
  }

  // BPF_MAP_UPDATE_ELEM: the map, the key, and the value: a run-time value
  // stored there, or the value's bytes in the blob by their SHA-256.
  Val map_update_elem(Command c, std::int64_t a) {
    using E = abi::MapElemAttr;
    c.kind = "MAP_UPDATE_ELEM";
    const Val map = at(a, offsetof(E, map_fd), sizeof(E::map_fd));
    const Val key = at(a, offsetof(E, key), sizeof(E::key));
    const Val value = at(a, offsetof(E, value), sizeof(E::value));
    add_field(c, "map", describe(map));
    const Val k = key.is(Val::Kind::BlobPtr) ? load_blob(key.v, kArrayKeySize) : Val{};
    add_field(c, "key", describe(k));
    std::string what = "?";
    if (value.is(Val::Kind::BlobPtr)) {
      const auto stored = overlay_.find(value.v);
      const auto vs = map.is(Val::Kind::Result) && value_size_.count(map.v) ? value_size_.at(map.v) : 0u;
      if (stored != overlay_.end()) {
        what = describe(stored->second.val);
      } else if (vs != 0) {
        what = fmt::format("{} bytes, SHA-256 {}", vs, to_hex(sha256(blob_bytes(value.v, vs))));
        update_values_.emplace_back(commands_.size(), value.v, vs, "value");
        if (map.is(Val::Kind::Result)) update_regions_.emplace_back(value.v, static_cast<std::int64_t>(vs), map.v);
        consumed_.emplace_back(value.v, vs);
      }
    }
    add_field(c, "value", what);
    c.summary = fmt::format("update {} key {}: {}", describe(map), describe(k), what);
    commands_.push_back(std::move(c));
    return result("update result");
  }

  // BPF_MAP_FREEZE: the map (the attr's first field, map_fd).
  Val map_freeze(Command c, std::int64_t a) {
    c.kind = "MAP_FREEZE";
    const Val map = at(a, offsetof(abi::MapElemAttr, map_fd), sizeof(abi::MapElemAttr::map_fd));
    add_field(c, "map", describe(map));
    c.summary = "freeze " + describe(map);
    commands_.push_back(std::move(c));
    return result("freeze result");
  }

  // BPF_PROG_LOAD: the program by its instructions' SHA-256, the map
  // references and run-time stores into them (RELOCATION commands), and
  // what its load depends on (a skip or a fallback found before it).
  Val prog_load(Command c, std::int64_t a) {
    using P = abi::ProgLoadAttr;
    c.kind = "PROG_LOAD";
    const std::string name = attr_name(a, offsetof(P, prog_name), sizeof(P::prog_name));
    const Val cnt = at(a, offsetof(P, insn_cnt), sizeof(P::insn_cnt));
    const std::string digest = program_relocations(c.pc, name, at(a, offsetof(P, insns), sizeof(P::insns)), cnt,
                                                   at(a, offsetof(P, fd_array), sizeof(P::fd_array)));
    add_field(c, "name", name);
    add_field(c, "type", field(a, offsetof(P, prog_type), sizeof(P::prog_type)));
    add_field(c, "expected_attach_type", field(a, offsetof(P, expected_attach_type), sizeof(P::expected_attach_type)));
    add_field(c, "attach_btf_id", field(a, offsetof(P, attach_btf_id), sizeof(P::attach_btf_id)));
    add_field(c, "insn_cnt", describe(cnt));
    add_field(c, "insns_sha256", digest);
    add_field(c, "license", blob_string(at(a, offsetof(P, license), sizeof(P::license))));
    add_field(c, "prog_flags", field(a, offsetof(P, prog_flags), sizeof(P::prog_flags)));
    add_field(c, "prog_btf_fd", field(a, offsetof(P, prog_btf_fd), sizeof(P::prog_btf_fd)));
    add_field(c, "func_info_cnt", field(a, offsetof(P, func_info_cnt), sizeof(P::func_info_cnt)));
    add_field(c, "line_info_cnt", field(a, offsetof(P, line_info_cnt), sizeof(P::line_info_cnt)));
    add_field(c, "core_relo_cnt", field(a, offsetof(P, core_relo_cnt), sizeof(P::core_relo_cnt)));
    c.summary = fmt::format("load program '{}': type {}, attach type {}, attach target {}, {} instructions (SHA-256 {}), license {}", name,
                            c.fields[1].second, c.fields[2].second, c.fields[3].second, describe(cnt), digest, c.fields[6].second);
    if (!load_conditions_.empty()) {
      std::string conditions;
      for (const auto& k : load_conditions_) conditions += (conditions.empty() ? "" : "; ") + k;
      c.summary += "; " + conditions;
      add_field(c, "conditions", conditions);
      load_conditions_.clear();
    }
    for (std::int64_t off : pending_skip_inputs_) skip_inputs_[off] = fmt::format("program '{}'", name);
    pending_skip_inputs_.clear();
    commands_.push_back(std::move(c));
    return result(fmt::format("fd of program '{}'", name));
  }

  // A loaded program's instructions in the blob: their SHA-256 (returned;
  // "?" when they cannot be located), a RELOCATION command for each map
  // reference and for each run-time store into them, and their range, so
  // that a later store into them off the main path is shown too.
  std::string program_relocations(std::size_t pc, const std::string& name, const Val& insns, const Val& cnt, const Val& fd_array) {
    if (!insns.is(Val::Kind::BlobPtr) || !cnt.is(Val::Kind::Const)) return "?";
    const auto len = static_cast<std::uint64_t>(cnt.v) * isa::kInsnSize;
    map_references(pc, name, blob_bytes(insns.v, len), fd_array);
    program_ranges_.emplace_back(insns.v, static_cast<std::int64_t>(len), name);
    for (const auto& [off, st] : overlays_in(insns.v, len)) {
      const auto rel = off - insns.v;
      const auto insn = rel / static_cast<std::int64_t>(isa::kInsnSize), byte = rel % static_cast<std::int64_t>(isa::kInsnSize);
      commands_.push_back({pc, "RELOCATION", fmt::format("program '{}' instruction {} byte {}: {}", name, insn, byte, describe(st.val)),
                           {{"program", name}, {"insn", std::to_string(insn)}, {"byte", std::to_string(byte)}, {"value", describe(st.val)}}});
    }
    return to_hex(sha256(blob_bytes(insns.v, len)));
  }

  // Evaluates a branch on the main path (every step succeeds); nullopt if
  // the decoder cannot tell.
  std::optional<bool> taken(const isa::CondJump& j, const Val& d, const Val& s) {
    using K = Val::Kind;
    using isa::JmpOp;
    if (d.is(K::Const) && s.is(K::Const)) {
      const std::int64_t a = d.v, b = s.v;
      const auto ua = static_cast<std::uint64_t>(a), ub = static_cast<std::uint64_t>(b);
      switch (j.op) {
        case JmpOp::Eq: return a == b;
        case JmpOp::Ne: return a != b;
        case JmpOp::Gt: return ua > ub;
        case JmpOp::Ge: return ua >= ub;
        case JmpOp::Lt: return ua < ub;
        case JmpOp::Le: return ua <= ub;
        case JmpOp::SGt: return a > b;
        case JmpOp::SGe: return a >= b;
        case JmpOp::SLt: return a < b;
        case JmpOp::SLe: return a <= b;
        case JmpOp::Set: return (ua & ub) != 0;
      }
    }
    // A declared fallback loads only when its primary did not: the main
    // path loads it too, and its load says on what it depends.
    if (d.is(K::Result) && d.desc.rfind("fd of program ", 0) == 0 && j.op == JmpOp::SGt && s.is(K::Const) && s.v == 0) {
      load_conditions_.push_back(fmt::format("only if {} was skipped (a declared fallback)", d.desc.substr(6)));
      return false;
    }
    // A declared optional program: skipped when its settings record asks.
    if (d.is(K::Input) && d.v >= kSettingsStart && j.op == JmpOp::Ne && s.is(K::Const) && s.v == 0) {
      load_conditions_.push_back(fmt::format("skipped if context +{} asks (a declared optional program)", d.v));
      pending_skip_inputs_.push_back(d.v);
      return false;
    }
    // Helper results on success: fds and ids, non-negative.
    if (d.is(K::Result) && s.is(K::Const) && s.v == 0) {
      switch (j.op) {
        case JmpOp::SGe: case JmpOp::SGt: case JmpOp::Ne: case JmpOp::Ge: return true;
        case JmpOp::SLt: case JmpOp::SLe: case JmpOp::Eq: return false;
        default: return std::nullopt;
      }
    }
    // The possible-CPU count from the context is bounded before it sizes a
    // perf event array: the main path is the one where it is in bounds.
    if (d.is(K::Input) && d.v == loader::ContextLayout::kPossibleCpus && s.is(K::Const)) {
      if (j.op == JmpOp::Eq && s.v == 0) return false;
      if (j.op == JmpOp::Gt && s.v == loader::kMaxPossibleCpus) return false;
      return std::nullopt;
    }
    // Ring buffer sizes: the page size from the context is compared with the
    // declared size; the unrolled doubling is explained as an alternative.
    if (d.is(K::Input) && s.is(K::Const) && (j.op == JmpOp::Ge || j.op == JmpOp::Gt)) return true;
    // A successful result is never a negative errno.
    if (d.is(K::Result) && s.is(K::Const) && s.v < 0 && (j.op == JmpOp::Eq || j.op == JmpOp::Ne)) return j.op == JmpOp::Ne;
    // The context the runtime passes is well-formed (magic, size).
    if (d.is(K::Input) && (j.op == JmpOp::Ne || j.op == JmpOp::Eq)) return j.op == JmpOp::Eq;
    // The metadata check passes: the map is exclusive and its hash is the expected one.
    if (d.is(K::MapField)) {
      if (j.op == JmpOp::Eq && s.is(K::Const) && s.v == 0 && d.v == abi::bpf_map::kExclOffset) {
        check_.exclusive = true;
        return false;
      }
      if (j.op == JmpOp::Ne && s.is(K::Const) && d.v >= abi::bpf_map::kShaOffset && d.v < kMapShaEnd && d.v % kShaWordSize == 0) {
        const auto x = static_cast<std::uint64_t>(s.v);
        std::memcpy(check_.expected.data() + (d.v - abi::bpf_map::kShaOffset), &x, sizeof x);
        ++check_.expected_found;
        return false;
      }
    }
    return std::nullopt;
  }

  Val alu(const isa::Alu& a, const Val& d, const Val& s) {
    using K = Val::Kind;
    if (a.op == isa::AluOp::Mov) return s;
    if (a.op == isa::AluOp::Add && (d.is(K::BlobPtr) || d.is(K::CtxPtr) || d.is(K::StackPtr)) && s.is(K::Const)) return Val{d.kind, d.v + s.v, {}};
    // btf_find_by_name_kind's object fd (its result's upper half): 0, vmlinux.
    if (a.op == isa::AluOp::Rsh && d.is(K::Result) && s.is(K::Const) && s.v == abi::kBtfObjFdShift) return Val::constant(0);
    if (d.is(K::Const) && s.is(K::Const)) {
      const auto x = static_cast<std::uint64_t>(d.v), y = static_cast<std::uint64_t>(s.v);
      std::uint64_t r = 0;
      switch (a.op) {
        case isa::AluOp::Add: r = x + y; break;
        case isa::AluOp::Sub: r = x - y; break;
        case isa::AluOp::Lsh: r = y < 64 ? x << y : 0; break;
        case isa::AluOp::Rsh: r = y < 64 ? x >> y : 0; break;
        case isa::AluOp::And: r = x & y; break;
        case isa::AluOp::Or: r = x | y; break;
        default: return Val{K::Unknown, 0, "arithmetic"};
      }
      if (!a.is64) r &= 0xffffffffu;
      return Val::constant(static_cast<std::int64_t>(r));
    }
    if (d.is(K::Input) && a.op == isa::AluOp::Lsh) return Val{K::Input, d.v, d.desc};
    return Val{K::Unknown, 0, "arithmetic on " + describe(d)};
  }

  Val operand(const Regs& r, const isa::Operand& o) const {
    if (const auto* imm = std::get_if<isa::Imm>(&o)) return Val::constant(imm->v);
    return r[std::get<isa::Reg>(o).n];
  }

  // What a branch on an input proves on one of its sides.
  static void refine(Bounds& b, isa::JmpOp op, std::int64_t c, bool held) {
    using isa::JmpOp;
    const auto u = static_cast<std::uint64_t>(c);
    auto smax = [&](std::int64_t x) { b.shi = b.shi ? std::min(*b.shi, x) : x; };
    auto smin = [&](std::int64_t x) { b.slo = b.slo ? std::max(*b.slo, x) : x; };
    auto umax = [&](std::uint64_t x) { b.uhi = b.uhi ? std::min(*b.uhi, x) : x; };
    auto umin = [&](std::uint64_t x) { b.ulo = b.ulo ? std::max(*b.ulo, x) : x; };
    // The opposite of each comparison, for the side where it did not hold.
    JmpOp o = op;
    if (!held) {
      switch (op) {
        case JmpOp::Eq: o = JmpOp::Ne; break;
        case JmpOp::Ne: o = JmpOp::Eq; break;
        case JmpOp::Gt: o = JmpOp::Le; break;
        case JmpOp::Ge: o = JmpOp::Lt; break;
        case JmpOp::Lt: o = JmpOp::Ge; break;
        case JmpOp::Le: o = JmpOp::Gt; break;
        case JmpOp::SGt: o = JmpOp::SLe; break;
        case JmpOp::SGe: o = JmpOp::SLt; break;
        case JmpOp::SLt: o = JmpOp::SGe; break;
        case JmpOp::SLe: o = JmpOp::SGt; break;
        case JmpOp::Set: return;  // proves nothing usable
      }
    }
    switch (o) {
      case JmpOp::Eq: b.only = c; break;
      case JmpOp::Ne: case JmpOp::Set: break;
      case JmpOp::Gt: if (u != UINT64_MAX) umin(u + 1); break;
      case JmpOp::Ge: umin(u); break;
      case JmpOp::Lt: if (u != 0) umax(u - 1); break;
      case JmpOp::Le: umax(u); break;
      case JmpOp::SGt: if (c != INT64_MAX) smin(c + 1); break;
      case JmpOp::SGe: smin(c); break;
      case JmpOp::SLt: if (c != INT64_MIN) smax(c - 1); break;
      case JmpOp::SLe: smax(c); break;
    }
  }
  static bool bounded(const Bounds& b) { return b.only || (b.slo && b.shi) || (b.ulo && b.uhi); }
  static std::string bounds_text(const Bounds& b) {
    if (b.only) return std::to_string(*b.only);
    if (b.slo && b.shi) return fmt::format("{}..{}", *b.slo, *b.shi);
    if (b.ulo && b.uhi) return fmt::format("{}..{}", *b.ulo, *b.uhi);
    return "any value";
  }
  static std::string bounds_key(const Regs& r) {
    std::string key;
    for (const Val& v : r) {
      if (v.is(Val::Kind::Input)) key += fmt::format("{}:{};", v.v, bounds_text(v.bounds));
    }
    return key;
  }

  // A store into the blob off the main path. Each is either shown or
  // refused, never silent, when it reaches bytes a command uses:
  // - a context input: an input region (its command says "unless replaced
  //   by ..."), with what the path proved of it (a runtime setting is
  //   stored only on paths that bound it; one that is not shows as such and
  //   `inspect` holds it against the declaration);
  // - into a program's instructions: a conditional RELOCATION command (a
  //   weak extern's fallback);
  // - anything else into an attr or value a command uses: unexplained.
  bool failure_store(std::size_t pc, std::int64_t off, std::uint32_t size, const Val& v) {
    if (v.is(Val::Kind::Input)) {
      record_target(pc, v.v, off, size, v);
      auto& paths = stored_inputs_[v.v];
      if (std::find(paths.begin(), paths.end(), v.bounds) == paths.end()) paths.push_back(v.bounds);
      const std::string desc = setting_input(v.v);
      auto same = [&](const auto& t) { return std::get<0>(t) == off && std::get<1>(t) == size; };
      input_regions_.erase(std::remove_if(input_regions_.begin(), input_regions_.end(), same), input_regions_.end());
      input_regions_.emplace_back(off, size, desc);
      return true;
    }
    for (const auto& [start, length, name] : program_ranges_) {
      if (off >= start && off + size <= start + length) {
        conditional_relocation(pc, name, off - start, v);
        return true;
      }
    }
    for (const auto& [start, length] : consumed_) {
      if (off < start + length && start < off + static_cast<std::int64_t>(size)) {
        unexplained(pc, fmt::format("a store of {} off the main path into blob byte {}, which a command uses", describe(v), off));
        return false;
      }
    }
    return true;  // bytes no command reads
  }

  // Where an input is stored: a map's value (as the MAP_UPDATE that sends
  // those bytes), a map's max_entries (as its MAP_CREATE attr), a program's
  // instructions (shown as a conditional relocation), or elsewhere.
  void record_target(std::size_t pc, std::int64_t input, std::int64_t off, std::uint32_t size, const Val& v) {
    using T = DecodedLoader::StoreTarget;
    T t{T::Kind::Other, -1, off, size};
    for (const auto& [start, length, map] : update_regions_) {
      if (off >= start && off + size <= start + length) t = T{T::Kind::MapValue, slot_of(map), off - start, size};
    }
    for (const auto& [field, map] : map_attrs_) {
      if (off == field && size == 4) t = T{T::Kind::MaxEntries, slot_of(map), 0, size};
    }
    for (const auto& [start, length, name] : program_ranges_) {
      if (off >= start && off + size <= start + length) {
        t = T{T::Kind::Program, -1, off - start, size};
        conditional_relocation(pc, name, off - start, v);
      }
    }
    auto& list = store_targets_[input];
    if (std::find(list.begin(), list.end(), t) == list.end()) list.push_back(t);
  }
  // A store into program `name`'s instructions at byte `rel`, off the main path.
  void conditional_relocation(std::size_t pc, const std::string& name, std::int64_t rel, const Val& v) {
    commands_.push_back({pc, "RELOCATION",
                         fmt::format("program '{}' instruction {} byte {}: {} (on a conditional path)", name, rel / 8, rel % 8, describe(v)),
                         {{"program", name}, {"insn", std::to_string(rel / 8)}, {"byte", std::to_string(rel % 8)},
                          {"value", describe(v)}, {"conditional", "true"}}});
  }
  std::int64_t slot_of(std::int64_t result) const {
    auto it = result_slot_.find(result);
    return it == result_slot_.end() ? -1 : it->second;
  }

  // A settings-area input, with what the loader proves of it before it
  // stores it (one entry per path that reaches the store).
  std::string setting_input(std::int64_t off) const {
    std::string out = fmt::format("the runtime setting at context +{}", off);
    auto it = stored_inputs_.find(off);
    if (it == stored_inputs_.end()) return out;
    const auto& paths = it->second;
    const bool values = std::all_of(paths.begin(), paths.end(), [](const Bounds& b) { return b.only.has_value(); });
    std::string allowed;
    if (values) {
      std::vector<std::int64_t> list;
      for (const auto& b : paths) list.push_back(*b.only);
      std::sort(list.begin(), list.end());
      allowed = "one of ";
      for (std::size_t i = 0; i < list.size(); ++i) allowed += (i ? ", " : "") + std::to_string(list[i]);
    } else {
      for (const auto& b : paths) allowed += (allowed.empty() ? "" : " or ") + bounds_text(b);
    }
    return out + fmt::format(" (the loader stores it only when it is {}; otherwise the load fails)", allowed);
  }

  static std::string ctx_field(std::int64_t off) {
    switch (off) {
      case loader::ContextLayout::kLogLevel: return "context: verifier log level";
      case loader::ContextLayout::kLogSize: return "context: log size";
      case loader::ContextLayout::kLogBuf: return "context: log buffer";
      case loader::ContextLayout::kPageSize: return "the running kernel's page size (context)";
      case loader::ContextLayout::kBtfFd: case loader::ContextLayout::kScratchFd:
        return "the loader's own fd slot (the runtime passes 0; read only to close what it holds)";
      case loader::ContextLayout::kPossibleCpus:
        return fmt::format("the number of possible CPUs (context; the loader refuses 0 and more than {})", loader::kMaxPossibleCpus);
      case offsetof(loader::ContextHeader, magic): return "context magic";
      case offsetof(loader::ContextHeader, size): return "context size";
      default: return fmt::format("context input +{}", off);
    }
  }

  // Executes one instruction; returns the next pc, or nullopt at exit or
  // when the path cannot be followed. `failure` relaxes branches (both
  // sides are followed by the caller) and forbids commands.
  struct Step {
    std::optional<std::size_t> next;
    std::optional<std::size_t> branch;  // the other side of a branch to follow
    std::optional<Regs> branch_regs = std::nullopt;  // its registers, when the branch proved something of an input
  };
  // One visit, one overload per instruction kind and no catch-all: a kind
  // added to isa::Instruction does not compile here until the decoder says
  // what it means, instead of silently becoming "unexplained".
  Step step(std::size_t pc, Regs& r, bool failure) {
    auto at = index_.find(pc);
    if (at == index_.end()) {
      unexplained(pc, "jump into the middle of an instruction or past the end");
      return {};
    }
    const auto& insn = insns_[at->second].insn;
    const Here here{pc, pc + isa::slot_count(insn), failure};
    auto no_loader_needs = [&] {
      unexplained(pc, "an instruction no loader needs");
      return Step{};
    };
    return std::visit(
        isa::Overloaded{
            [&](const isa::Alu& i) { return step_alu(here, i, r); },
            [&](const isa::AddrSpaceCast&) { return no_loader_needs(); },
            [&](const isa::Endian&) { return no_loader_needs(); },
            [&](const isa::LoadImm64& i) { return step_load_imm64(here, i, r); },
            [&](const isa::Load& i) { return step_load(here, i, r); },
            [&](const isa::Store& i) { return step_store(here, i, r); },
            [&](const isa::Atomic&) { return no_loader_needs(); },
            [&](const isa::PacketLoad&) { return no_loader_needs(); },
            [&](const isa::CondJump& i) { return step_cond_jump(here, i, r); },
            [&](const isa::Goto& i) { return jump(pc, here.next + static_cast<std::size_t>(static_cast<std::int64_t>(i.off)), failure); },
            [&](const isa::LongGoto& i) { return jump(pc, here.next + static_cast<std::size_t>(static_cast<std::int64_t>(i.off)), failure); },
            [&](const isa::MayGoto&) { return no_loader_needs(); },
            [&](const isa::Call& i) { return step_call(here, i, r); },
            [&](const isa::CallReg&) { return no_loader_needs(); },
            [&](const isa::Exit&) { return Step{}; },
        },
        insn);
  }

  // Where a step runs: its pc, the pc after it, and whether off the main path.
  struct Here {
    std::size_t pc;
    std::size_t next;
    bool failure;
  };

  Step step_alu(const Here& h, const isa::Alu& a, Regs& r) {
    r[a.dst.n] = alu(a, r[a.dst.n], operand(r, a.src));
    return {h.next, {}};
  }

  // ld_imm64: a constant, the blob's address (plus an offset) or the
  // metadata map itself; a loader has only that one map.
  Step step_load_imm64(const Here& h, const isa::LoadImm64& l, Regs& r) {
    using K = Val::Kind;
    if (l.src == isa::PseudoSrc::Imm) {
      r[l.dst.n] = Val::constant(l.value());
    } else if (l.src == isa::PseudoSrc::MapIdxValue && l.imm == 0) {
      r[l.dst.n] = Val{K::BlobPtr, l.next_imm, {}};
    } else if (l.src == isa::PseudoSrc::MapIdx && l.imm == 0) {
      r[l.dst.n] = Val{K::MetaMap, 0, {}};
    } else {
      unexplained(h.pc, "ld_imm64 of something other than the metadata map");
      return {};
    }
    return {h.next, {}};
  }

  // A load from the context (an input, unless the loader wrote it first),
  // the blob, the metadata map's fields or the stack.
  Step step_load(const Here& h, const isa::Load& l, Regs& r) {
    using K = Val::Kind;
    const Val& base = r[l.base.n];
    const auto size = static_cast<std::uint32_t>(l.size);
    if (base.is(K::CtxPtr)) {
      const auto off = base.v + l.off;
      auto it = ctx_.find(off);
      r[l.dst.n] = it != ctx_.end() ? it->second : Val{K::Input, off, ctx_field(off)};
      if (it == ctx_.end()) read_inputs_.insert(off);
    } else if (base.is(K::BlobPtr)) {
      r[l.dst.n] = load_blob(base.v + l.off, size);
    } else if (base.is(K::MetaMap)) {
      r[l.dst.n] = Val{K::MapField, l.off, {}};
    } else if (base.is(K::StackPtr)) {
      auto it = stack_.find(base.v + l.off);
      r[l.dst.n] = it != stack_.end() ? it->second
                   : stack_zeroed_    ? Val::constant(0)
                                      : Val{K::Unknown, 0, "uninitialised stack"};
    } else {
      unexplained(h.pc, "load from " + describe(base));
      return {};
    }
    return {h.next, {}};
  }

  // A store into the context (fds handed back are FD_OUT commands), the
  // blob (off the main path, only where failure_store allows) or the stack.
  Step step_store(const Here& h, const isa::Store& s, Regs& r) {
    using K = Val::Kind;
    const Val& base = r[s.base.n];
    const Val v = operand(r, s.value);
    const auto size = static_cast<std::uint32_t>(s.size);
    if (base.is(K::CtxPtr)) {
      const auto off = base.v + s.off;
      ctx_[off] = v;
      if (!h.failure && v.is(K::Result)) result_slot_.emplace(v.v, off);
      // The fd slots start at the BTF fd: an fd stored there or after is handed back.
      if (!h.failure && v.is(K::Result) && off >= loader::ContextLayout::kBtfFd) {
        commands_.push_back({h.pc, "FD_OUT", fmt::format("hand back {} at context +{}", v.desc, off), {{"what", v.desc}, {"offset", std::to_string(off)}}});
      }
    } else if (base.is(K::BlobPtr)) {
      if (h.failure && !failure_store(h.pc, base.v + s.off, size, v)) return {};
      store_blob(base.v + s.off, size, v);
    } else if (base.is(K::StackPtr)) {
      stack_[base.v + s.off] = v;
    } else {
      unexplained(h.pc, "store to " + describe(base));
      return {};
    }
    return {h.next, {}};
  }

  // A conditional jump. Off the main path both sides are followed (the
  // caller takes `branch`), each knowing what the comparison proved of an
  // input; on the main path the decoder must tell which side success
  // takes, and the other is queued as a failure path.
  Step step_cond_jump(const Here& h, const isa::CondJump& j, Regs& r) {
    using K = Val::Kind;
    const std::size_t target = h.next + static_cast<std::size_t>(static_cast<std::int64_t>(j.off));
    if (h.failure && target <= h.pc) {
      unexplained(h.pc, "a jump back off the main path (a loader's failure and skip paths only go forward)");
      return {};
    }
    if (h.failure) {
      const Val& d = r[j.dst.n];
      const Val o = operand(r, j.src);
      if (d.is(K::Input) && o.is(K::Const) && !j.is32) {
        // (A 32-bit comparison says nothing of the upper half: it proves no bound.)
        // Each side of the branch knows more of the input: the taken
        // side that the comparison held, the other that it did not.
        Regs taken_regs = r;
        refine(taken_regs[j.dst.n].bounds, j.op, o.v, true);
        refine(r[j.dst.n].bounds, j.op, o.v, false);
        return {h.next, target, taken_regs};
      }
      return {h.next, target, {}};
    }
    const auto t = taken(j, r[j.dst.n], operand(r, j.src));
    if (t && r[j.dst.n].is(K::Input) && r[j.dst.n].v == loader::ContextLayout::kPageSize && (j.op == isa::JmpOp::Ge || j.op == isa::JmpOp::Gt)) {
      r[j.dst.n].desc = fmt::format("{} rounded up to a power-of-two multiple of the kernel's page size (context)", describe(operand(r, j.src)));
    }
    if (!t) {
      unexplained(h.pc, "a branch on " + describe(r[j.dst.n]) + " that the decoder cannot decide");
      return {};
    }
    // The side not taken is a failure path (or an alternative) to explain.
    pending_failures_.emplace_back(*t ? h.next : target, r);
    return {*t ? target : h.next, {}};
  }

  // A helper call: r0 becomes what the helper returns, r1-r5 are clobbered.
  Step step_call(const Here& h, const isa::Call& c, Regs& r) {
    if (c.kind != isa::CallKind::Helper) {
      unexplained(h.pc, "call to something other than a helper");
      return {};
    }
    const std::optional<Val> ret = helper(h, c.imm, r);
    if (!ret) return {};
    r[0] = *ret;
    for (std::size_t i = 1; i <= 5; ++i) r[i] = Val{Val::Kind::Unknown, 0, "clobbered by a call"};
    return {h.next, {}};
  }

  // What helper `id` does and returns; nullopt when the decoder cannot explain the call.
  std::optional<Val> helper(const Here& h, std::int32_t id, const Regs& r) {
    switch (id) {
      case abi::kHelperSysClose:
        if (!h.failure) commands_.push_back({h.pc, "CLOSE", "close " + describe(r[1]), {{"fd", describe(r[1])}}});
        return Val::constant(0);
      case abi::kHelperSysBpf:
        if (h.failure) {
          unexplained(h.pc, "a bpf(2) command on a failure path");
          return std::nullopt;
        }
        return sys_bpf(h.pc, r);
      case abi::kHelperBtfFindByNameKind: return btf_find_by_name_kind(h, r);
      case abi::kHelperKallsymsLookupName: return kallsyms_lookup_name(h, r);
      case abi::kHelperProbeReadKernel: return probe_read_kernel(h, r);
      case abi::kHelperCopyFromUser: return copy_from_user(h, r);
      default:
        unexplained(h.pc, fmt::format("call to helper {}, which no loader needs", id));
        return std::nullopt;
    }
  }

  // bpf_btf_find_by_name_kind(name, size, kind, 0): a FIND_BTF command.
  Val btf_find_by_name_kind(const Here& h, const Regs& r) {
    const std::string name = blob_string(r[1]);
    const std::string kind = r[3].is(Val::Kind::Const) ? std::string(btf::kind_name(static_cast<btf::Kind>(r[3].v))) : std::string("?");
    commands_.push_back({h.pc, "FIND_BTF", fmt::format("find {} '{}' in the running kernel's BTF", kind, name), {{"name", name}, {"kind", kind}}});
    return result(fmt::format("kernel BTF id of {} '{}'", kind, name));
  }

  // bpf_kallsyms_lookup_name(name, size, 0, &result): a KALLSYMS command;
  // the address lands at r4 in the blob.
  Val kallsyms_lookup_name(const Here& h, const Regs& r) {
    const std::string name = blob_string(r[1]);
    commands_.push_back({h.pc, "KALLSYMS", fmt::format("look up the address of '{}' in kallsyms", name), {{"name", name}}});
    if (r[4].is(Val::Kind::BlobPtr)) store_blob(r[4].v, 8, result(fmt::format("kernel address of '{}'", name)));
    return result("kallsyms status");
  }

  // bpf_probe_read_kernel, as libbpf's loaders use it: to zero their
  // stack, or to copy initial values from kernel memory into the blob.
  std::optional<Val> probe_read_kernel(const Here& h, const Regs& r) {
    using K = Val::Kind;
    // bpf_probe_read_kernel(stack, n, NULL): libbpf's way to zero its stack.
    if (r[1].is(K::StackPtr) && r[2].is(K::Const) && r[3].is(K::Const) && r[3].v == 0) {
      stack_.clear();
      stack_zeroed_ = true;
      return Val::constant(0);
    }
    // libbpf's loaders copy initial values from kernel memory when the
    // context says the skeleton runs in the kernel: an input as well.
    if (r[1].is(K::BlobPtr) && r[2].is(K::Const)) {
      const std::string from = describe(r[3]);
      input_regions_.emplace_back(r[1].v, r[2].v, "kernel memory at " + from);
      commands_.push_back({h.pc, "COPY_FROM_KERNEL",
                           fmt::format("copy {} bytes from kernel memory at {} into {}{}", r[2].v, from, describe(r[1]),
                                       h.failure ? " (on a conditional path)" : ""),
                           {{"size", std::to_string(r[2].v)}, {"from", from}, {"to", describe(r[1])}}});
      return result("probe_read_kernel status");
    }
    unexplained(h.pc, "bpf_probe_read_kernel other than zeroing the stack or copying into the blob");
    return std::nullopt;
  }

  // bpf_copy_from_user: user memory named by the context, an input no
  // signature covers.
  Val copy_from_user(const Here& h, const Regs& r) {
    const std::string from = describe(r[3]);
    const std::string size = describe(r[2]);
    commands_.push_back({h.pc, "COPY_FROM_USER",
                         fmt::format("copy {} bytes from user memory at {} into {}{}", size, from, describe(r[1]),
                                     h.failure ? " (on a conditional path)" : ""),
                         {{"size", size}, {"from", from}, {"to", describe(r[1])}}});
    if (r[1].is(Val::Kind::BlobPtr) && r[2].is(Val::Kind::Const)) input_regions_.emplace_back(r[1].v, r[2].v, "user memory at " + from);
    return result("copy_from_user status");
  }

  // An unconditional jump; off the main path only forward (a path that
  // jumps back could run code again that the decoder showed once).
  Step jump(std::size_t pc, std::size_t target, bool failure) {
    if (failure && target <= pc) {
      unexplained(pc, "a jump back off the main path (a loader's failure and skip paths only go forward)");
      return {};
    }
    return {target, {}};
  }

  void main_path(Regs regs) {
    std::optional<std::size_t> pc = 0;
    std::size_t budget = insns_.size() * 4 + 16;
    while (pc && budget-- > 0) {
      if (main_pcs_.count(*pc)) {
        unexplained(*pc, "a loop on the main path");
        return;
      }
      main_pcs_.insert(*pc);
      pc = step(*pc, regs, false).next;
    }
  }

  // A branch side off the main path: it must only report the error, close
  // fds and exit, or rejoin the main path (a weak extern's fallback).
  void failure_path(std::size_t start, Regs regs) {
    std::vector<std::pair<std::size_t, Regs>> work{{start, regs}};
    bool counted = false;
    while (!work.empty()) {
      auto [pc, r] = work.back();
      work.pop_back();
      while (true) {
        if (main_pcs_.count(pc)) break;  // rejoins explained code
        // A pc is followed again only when this path knows something else
        // of the inputs it holds (each value of a setting's list reaches
        // the store on a path of its own); paths are finite, the loader
        // having no back edges.
        if (!seen_states_.insert({pc, bounds_key(r)}).second) break;
        failure_pcs_.insert(pc);
        const Step s = step(pc, r, true);
        if (s.branch) work.emplace_back(*s.branch, s.branch_regs ? *s.branch_regs : r);
        if (!s.next) break;
        pc = *s.next;
      }
      if (!counted) {
        ++out_.failure_paths;
        counted = true;
      }
    }
  }

  std::vector<isa::PlacedInstruction> insns_;
  std::map<std::size_t, std::size_t> index_;
  std::vector<std::uint8_t> blob_;
  std::map<std::int64_t, Stored> overlay_;
  std::map<std::int64_t, Val> ctx_;
  std::map<std::int64_t, Val> stack_;
  bool stack_zeroed_ = false;
  // Blob ranges that copies from user or kernel memory may overwrite.
  std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> input_regions_;
  std::vector<std::tuple<std::size_t, std::int64_t, std::int64_t, std::string>> update_values_;  // command, blob offset, size, field
  // Context inputs and optional programs: offsets read before the loader
  // wrote them, the skip record of each optional program, and what the
  // next program load depends on.
  std::set<std::int64_t> read_inputs_;  // context offsets read before the loader wrote them
  std::map<std::int64_t, std::string> skip_inputs_;  // context offset -> the optional program it skips
  std::vector<std::int64_t> pending_skip_inputs_;   // found before that program's load
  std::vector<std::string> load_conditions_;
  std::map<std::int64_t, std::uint32_t> value_size_;
  std::set<std::size_t> main_pcs_, failure_pcs_;
  std::set<std::pair<std::size_t, std::string>> seen_states_;
  // Program instruction streams in the blob (PROG_LOAD): offset, length,
  // name; a store into them off the main path is a conditional relocation.
  std::vector<std::tuple<std::int64_t, std::int64_t, std::string>> program_ranges_;
  // Blob bytes the main path's commands read (attrs, values, BTF).
  std::vector<std::pair<std::int64_t, std::int64_t>> consumed_;
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> update_regions_;  // value offset, size, map fd result
  std::vector<std::pair<std::int64_t, std::int64_t>> map_attrs_;  // max_entries field, map fd result
  std::map<std::int64_t, std::int64_t> result_slot_;  // fd result -> context offset it is handed back at
  std::map<std::int64_t, std::vector<DecodedLoader::StoreTarget>> store_targets_;
  // Each settings-area input stored into the blob off the main path, with
  // what each path proved of it there.
  std::map<std::int64_t, std::vector<Bounds>> stored_inputs_;
  std::vector<std::pair<std::size_t, Regs>> pending_failures_;
  std::int64_t next_result_ = 0;
  struct {
    Sha256 expected{};
    int expected_found = 0;
    bool exclusive = false;
  } check_;
  DecodedLoader out_;
  std::vector<Command>& commands_ = out_.commands;
};

}  // namespace

std::string command_field(const Command& c, const std::string& key) {
  for (const auto& [k, v] : c.fields) {
    if (k == key) return v;
  }
  return {};
}

Result<DecodedLoader> decode_loader(Bytes code, Bytes blob) {
  auto insns = isa::decode_program(code);
  if (!insns) return insns.error().with_context("loader instructions");
  return Decoder(std::move(insns).value(), blob).run();
}

}  // namespace bpfsign::audit
