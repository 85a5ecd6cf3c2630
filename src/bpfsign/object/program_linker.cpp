// Links each entry program with the subprograms it uses into one
// instruction stream, in libbpf's order (bpf_object__reloc_code): scanning
// the growing program, a subprogram is appended when first called or
// referenced and scanned at once, before the caller's scan resumes. The
// same order gives the same instructions, hence the same kernel tag.
#include <algorithm>
#include <span>

#include "bpfsign/common/stable_sort.hpp"

#include "bpfsign/isa/opcodes.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

constexpr std::uint8_t kCodeCall = isa::kClassJmp | isa::kJmpCall;
constexpr std::uint8_t kCodeLdImm64 = isa::kClassLd | isa::kSizeDW | isa::kModeImm;

bool is_local_call(const isa::RawInsn& i) { return i.code == kCodeCall && i.src == static_cast<std::uint8_t>(isa::CallKind::Local); }
bool is_func_ref(const isa::RawInsn& i) { return i.code == kCodeLdImm64 && i.src == static_cast<std::uint8_t>(isa::PseudoSrc::Func); }

const CodeReloc* reloc_at(std::span<const CodeReloc> list, std::uint32_t insn) {
  auto it = std::lower_bound(list.begin(), list.end(), insn, [](const CodeReloc& r, std::uint32_t v) { return r.insn < v; });
  return it != list.end() && it->insn == insn ? &*it : nullptr;
}

// .BTF.ext records of each function, as spans into the section's records
// (sorted by offset), found once per object so that linking a program
// touches only its own records and copies nothing twice.
template <typename Record>
struct RecordsByFunction {
  std::vector<std::vector<Record>> sorted_copies;  // only for sections clang did not sort
  std::vector<std::span<const Record>> of;         // by function index
};

struct ExtBuckets {
  RecordsByFunction<btf::FuncInfo> func_info;
  RecordsByFunction<btf::LineInfo> line_info;
  RecordsByFunction<btf::CoreRelo> core_relos;
};

// Checks that every record points at an instruction of a code section and
// buckets the records by function, in one pass over each section's records.
template <typename Record>
Status bucket(const ReaderContext& ctx, const std::vector<btf::ExtSection<Record>>& sections, const char* what,
              RecordsByFunction<Record>& out) {
  auto by_offset = [](const Record& x, const Record& y) { return x.insn_off < y.insn_off; };
  out.of.assign(ctx.functions.size(), {});
  for (const auto& s : sections) {
    const ElfSection* sec = ctx.elf.find_section(s.section);
    if (sec == nullptr || ctx.roles[sec->index] != SectionRole::Code) {
      return bad_input(".BTF.ext {}: section '{}' is not a code section of this object", what, s.section);
    }
    auto is_insn = [&](std::uint32_t off) { return off % isa::kInsnSize == 0 && off < sec->size; };
    bool in_range = true, sorted = true;
    std::uint32_t previous = 0;
    for (const Record& r : s.records) {
      in_range &= is_insn(r.insn_off);
      sorted &= r.insn_off >= previous;
      previous = r.insn_off;
    }
    if (!in_range) {
      for (std::size_t i = 0; i < s.records.size(); ++i) {
        const std::uint32_t off = s.records[i].insn_off;
        if (!is_insn(off)) {
          return bad_input(".BTF.ext {}: section '{}' record {}: instruction offset {} is not an instruction of the {}-byte section",
                           what, s.section, i, off, sec->size);
        }
      }
    }
    std::span<const Record> records(s.records);
    if (!sorted) {
      if (out.sorted_copies.empty()) out.sorted_copies.reserve(sections.size());  // spans into these must not move
      out.sorted_copies.push_back(s.records);
      stable_sort_vector(out.sorted_copies.back(), by_offset);
      records = out.sorted_copies.back();
    }
    // One merge walk over the section's functions (sorted by start) and its
    // records (sorted by offset). Records outside every function describe
    // code no program uses (libbpf skips them too).
    auto first = std::lower_bound(ctx.functions.begin(), ctx.functions.end(), sec->index,
                                  [](const Function& f, std::size_t v) { return f.section < v; });
    auto rec = records.begin();
    for (auto f = first; f != ctx.functions.end() && f->section == sec->index; ++f) {
      const std::uint64_t begin = std::uint64_t{f->start} * isa::kInsnSize;
      const std::uint64_t end = begin + std::uint64_t{f->size} * isa::kInsnSize;
      while (rec != records.end() && rec->insn_off < begin) ++rec;
      auto lo = rec;
      while (rec != records.end() && rec->insn_off < end) ++rec;
      out.of[static_cast<std::size_t>(f - ctx.functions.begin())] = std::span<const Record>(lo, rec);
    }
  }
  return Ok{};
}

constexpr std::uint32_t kNotPlaced = 0xffffffffu;
constexpr std::uint32_t kMaxProgramSlots = 0xffffffu;  // 16M slots: far past any kernel limit, and call offsets fit

// A call or function reference inside a function: its slot there and the
// subprogram it targets.
struct CallSite {
  std::uint32_t slot;
  std::size_t callee;
};

// Working memory reused from one program to the next: linking N programs
// then costs no N x functions work and few allocations. Each function's
// call sites are found once, the first time a program uses it: a
// subprogram shared by a thousand programs is scanned once, not a thousand
// times.
struct LinkScratch {
  explicit LinkScratch(std::size_t functions) : placed_at(functions, kNotPlaced), sites_of(functions, kNotScanned) {
    order.reserve(functions);  // a program places each function at most once
    stack.reserve(functions);  // and each frame is a placed function
  }
  static constexpr std::pair<std::size_t, std::size_t> kNotScanned{1, 0};  // begin > end: not scanned yet
  std::vector<std::uint32_t> placed_at;  // all kNotPlaced between programs
  std::vector<std::size_t> order;        // functions in placement order
  std::vector<std::pair<std::uint32_t, std::size_t>> calls;  // (slot, callee) to patch
  std::vector<CallSite> sites;                                // every scanned function's, in slot order
  std::vector<std::pair<std::size_t, std::size_t>> sites_of;  // by function: [begin, end) in `sites`
  struct Frame {
    std::size_t fn;
    std::size_t next;  // index in `sites`
    std::size_t end;
  };
  std::vector<Frame> stack;
  std::vector<std::string_view> names;  // by function: its name in ProgramStorage::function_names
};

// Where one program's parts end in ProgramStorage; views are made once all
// programs are linked (the buffers grow until then).
struct Extents {
  std::size_t insns = 0, relocations = 0, functions = 0, func_info = 0, line_info = 0, core_relos = 0;
};

// Links one entry program: a scan decides where each function goes, then
// its parts are appended to the storage in one go. One pass per program:
// the storage grows geometrically, which costs less than scanning every
// program twice to size it exactly.
class Linker {
 public:
  Linker(const ReaderContext& ctx, ProgramStorage& out, const ExtBuckets& ext, std::size_t entry, LinkScratch& scratch)
      : ctx_(ctx), out_(out), ext_(ext), entry_(entry), scratch_(scratch), placed_at_(scratch.placed_at),
        order_(scratch.order), calls_(scratch.calls), stack_(scratch.stack) {
    order_.clear();
    calls_.clear();
    stack_.clear();
  }
  ~Linker() {
    for (std::size_t fi : order_) placed_at_[fi] = kNotPlaced;
  }
  Linker(const Linker&) = delete;
  Linker& operator=(const Linker&) = delete;

  // Appends the linked program's parts to the storage; returns where the
  // parts end (they begin where the previous program's ended).
  Result<Extents> link() {
    auto context = [&] { return fmt::format("program '{}'", ctx_.functions[entry_].name); };
    if (auto s = scan(); !s) return s.error().with_context(context());
    // The instructions, copied once now that every position is known.
    base_ = out_.insns.size();
    for (std::size_t fi : order_) {
      const Function& f = ctx_.functions[fi];
      out_.functions.push_back({scratch_.names[fi], placed_at_[fi], f.size});
      out_.insns.insert(out_.insns.end(), f.insns.begin(), f.insns.end());
    }
    for (const auto& [at, callee] : calls_) {
      out_.insns[base_ + at].imm = static_cast<std::int32_t>(std::int64_t{placed_at_[callee]} - at - 1);
    }
    if (auto s = apply_relocations(); !s) return s.error().with_context(context());
    if (auto s = attach_ext_info(); !s) return s.error().with_context(context());
    return Extents{out_.insns.size(), out_.relocations.size(), out_.functions.size(),
                   out_.func_info.size(), out_.line_info.size(), out_.core_relos.size()};
  }

 private:
  // Decides where each function goes, scanning the code as libbpf does: a
  // subprogram is placed when first called or referenced and scanned at
  // once, before the caller's scan resumes.
  Status scan() {
    if (!place(entry_)) return too_long();
    if (auto s = push_frame(entry_); !s) return s;
    while (!stack_.empty()) {
      LinkScratch::Frame& top = stack_.back();
      if (top.next == top.end) {
        stack_.pop_back();
        continue;
      }
      const CallSite site = scratch_.sites[top.next++];
      calls_.push_back({placed_at_[top.fn] + site.slot, site.callee});
      if (placed_at_[site.callee] == kNotPlaced) {
        if (!place(site.callee)) return too_long();
        if (auto s = push_frame(site.callee); !s) return s;  // `top` is invalid from here
      }
    }
    return Ok{};
  }

  Status push_frame(std::size_t fi) {
    auto& range = scratch_.sites_of[fi];
    if (range == LinkScratch::kNotScanned) {
      const std::size_t begin = scratch_.sites.size();
      if (auto s = find_call_sites(fi); !s) {
        scratch_.sites.resize(begin);
        return s;
      }
      range = {begin, scratch_.sites.size()};
    }
    stack_.push_back({fi, range.first, range.second});
    return Ok{};
  }

  // Appends the calls and function references of function `fi`, in slot order.
  Status find_call_sites(std::size_t fi) {
    const Function& fn = ctx_.functions[fi];
    for (std::uint32_t i = 0; i < fn.size; ++i) {
      const isa::RawInsn& insn = fn.insns[i];
      if (!is_local_call(insn) && !is_func_ref(insn)) continue;
      const CodeReloc* reloc = reloc_at(ctx_.code_relocs[fi], i);
      // clang emits kfunc calls as BPF_PSEUDO_CALL with an extern relocation.
      if (reloc != nullptr && reloc->kind == RelocKind::KfuncCall) continue;
      auto callee = callee_of(fi, i, insn, reloc);
      if (!callee) return callee.error().with_context(fmt::format("function '{}' instruction {}", fn.name, i));
      scratch_.sites.push_back({i, *callee});
    }
    return Ok{};
  }

  // Places function `fi` after those placed so far; false when the program
  // would pass kMaxProgramSlots (too_long() says so).
  [[nodiscard]] bool place(std::size_t fi) {
    const Function& f = ctx_.functions[fi];
    if (total_ + f.size > kMaxProgramSlots) return false;
    placed_at_[fi] = total_;
    total_ += f.size;
    order_.push_back(fi);
    return true;
  }
  static Error too_long() { return bad_input("linked program exceeds {} instructions", kMaxProgramSlots); }

  // The .text function a call or function reference at slot `i` of `fi` targets.
  // `r` is the relocation at that slot, if any.
  Result<std::size_t> callee_of(std::size_t fi, std::uint32_t i, const isa::RawInsn& insn, const CodeReloc* r) const {
    const Function& fn = ctx_.functions[fi];
    std::int64_t target = 0;
    if (r != nullptr && r->kind != RelocKind::SubprogCall && r->kind != RelocKind::SubprogAddr) {
      return bad_input("unexpected {} relocation on a call", reloc_kind_name(r->kind));
    }
    if (r != nullptr) {
      target = r->target;
    } else if (is_func_ref(insn)) {
      return bad_input("function reference without a relocation");
    } else {
      // A call within one section needs no relocation: imm is relative.
      if (!ctx_.text_section || fn.section != *ctx_.text_section) return bad_input("call without relocation outside .text");
      target = std::int64_t{fn.start} + i + insn.imm + 1;
    }
    if (!ctx_.text_section) return bad_input("call target is in .text, but there is no .text");
    const auto k = target < 0 ? std::nullopt : ctx_.function_at(*ctx_.text_section, static_cast<std::uint64_t>(target));
    if (!k || ctx_.functions[*k].start != target) return bad_input("call target slot {} of .text is not the start of a function", target);
    if (!ctx_.functions[*k].is_subprogram) internal_error(".text function is not a subprogram");
    return *k;
  }

  Status apply_relocations() {
    const auto& maps = ctx_.model.maps;
    const std::size_t first = out_.relocations.size();
    for (std::size_t fi : order_) {
      const std::uint32_t base = placed_at_[fi];
      for (const CodeReloc& cr : ctx_.code_relocs[fi]) {
        Relocation out{base + cr.insn, cr.kind, cr.target, cr.offset};
        isa::RawInsn& insn = out_.insns[base_ + out.insn];
        isa::RawInsn* next = cr.kind == RelocKind::SubprogCall || cr.kind == RelocKind::KfuncCall ? nullptr : &out_.insns[base_ + out.insn + 1];
        switch (cr.kind) {
          case RelocKind::SubprogCall:
          case RelocKind::SubprogAddr: {
            // Already linked by the scan; record which placed function it targets.
            const auto k = ctx_.function_at(*ctx_.text_section, cr.target);
            if (!k || placed_at_[*k] == kNotPlaced) internal_error("linked call target was not placed");
            const auto pos = std::find(order_.begin(), order_.end(), *k);
            out.target = static_cast<std::uint32_t>(pos - order_.begin());
            break;
          }
          case RelocKind::MapFd:
            insn.src = static_cast<std::uint8_t>(isa::PseudoSrc::MapFd);
            insn.imm = 0;  // the map's fd, at load
            break;
          case RelocKind::MapValue: {
            const std::int64_t off = std::int64_t{insn.imm} + cr.offset;
            if (off < 0 || off >= maps[cr.target].def.value_size) {
              return bad_input("instruction {}: offset {} is outside the {}-byte value of map '{}'", out.insn, off,
                               maps[cr.target].def.value_size, maps[cr.target].name);
            }
            out.offset = static_cast<std::uint32_t>(off);
            insn.src = static_cast<std::uint8_t>(isa::PseudoSrc::MapValue);
            insn.imm = 0;
            next->imm = static_cast<std::int32_t>(off);
            break;
          }
          case RelocKind::KconfigValue:
            insn.src = static_cast<std::uint8_t>(isa::PseudoSrc::MapValue);
            insn.imm = 0;
            next->imm = static_cast<std::int32_t>(cr.offset);
            break;
          case RelocKind::KsymAddr:
            insn.src = ctx_.model.externs[cr.target].typed ? static_cast<std::uint8_t>(isa::PseudoSrc::BtfId) : 0;
            insn.imm = 0;
            next->imm = 0;
            break;
          case RelocKind::KfuncCall:
            insn.src = static_cast<std::uint8_t>(isa::CallKind::Kfunc);
            insn.imm = 0;  // the kfunc's BTF id, at load
            insn.off = 0;  // its module BTF's fd_array slot, at load
            break;
        }
        out_.relocations.push_back(out);
      }
    }
    // Functions are placed in order and each one's relocations are sorted,
    // so the program's come out sorted; sorting stays as a safety net.
    const auto begin = out_.relocations.begin() + static_cast<std::ptrdiff_t>(first);
    auto by_insn = [](const Relocation& a, const Relocation& b) { return a.insn < b.insn; };
    if (!std::is_sorted(begin, out_.relocations.end(), by_insn)) std::sort(begin, out_.relocations.end(), by_insn);
    return Ok{};
  }

  // func_info and line_info as libbpf hands them to the kernel: dropped
  // altogether when the entry function has none, an error when only a
  // subprogram lacks them. Offsets move into the linked program.
  template <typename Record>
  Status gather(const RecordsByFunction<Record>& by_function, std::vector<Record>& out, const char* what,
                std::uint32_t unit, bool all_or_nothing) {
    const std::size_t first = out.size();
    for (std::size_t fi : order_) {
      const auto& recs = by_function.of[fi];
      if (recs.empty()) {
        if (!all_or_nothing) continue;
        if (fi == entry_) {
          out.resize(first);
          return Ok{};
        }
        return bad_input("subprogram '{}' has no {} records while its caller has", ctx_.functions[fi].name, what);
      }
      // Moved to the function's place as they are copied: each record is
      // read once, from the source, and written once.
      const std::uint32_t from = ctx_.functions[fi].start;
      const std::uint32_t to = placed_at_[fi];
      for (const Record& r : recs) {
        Record moved = r;
        moved.insn_off = (r.insn_off / static_cast<std::uint32_t>(isa::kInsnSize) - from + to) * unit;
        out.push_back(moved);
      }
    }
    return Ok{};
  }

  Status attach_ext_info() {
    if (!ctx_.btf_ext) return Ok{};
    if (auto s = gather(ext_.func_info, out_.func_info, "func_info", 1, true); !s) return s;
    if (auto s = gather(ext_.line_info, out_.line_info, "line_info", 1, true); !s) return s;
    return gather(ext_.core_relos, out_.core_relos, "CO-RE", 8, false);
  }

  const ReaderContext& ctx_;
  ProgramStorage& out_;
  std::size_t base_ = 0;  // where this program's instructions start in out_.insns
  const ExtBuckets& ext_;
  std::size_t entry_;
  LinkScratch& scratch_;
  std::vector<std::uint32_t>& placed_at_;
  std::vector<std::size_t>& order_;
  std::vector<std::pair<std::uint32_t, std::size_t>>& calls_;
  std::vector<LinkScratch::Frame>& stack_;
  std::uint32_t total_ = 0;  // slots placed so far
};

}  // namespace

Status link_programs(ReaderContext& ctx) {
  ExtBuckets ext;
  if (ctx.btf_ext) {
    if (auto s = bucket(ctx, ctx.btf_ext->func_info, "func_info", ext.func_info); !s) return s;
    if (auto s = bucket(ctx, ctx.btf_ext->line_info, "line_info", ext.line_info); !s) return s;
    if (auto s = bucket(ctx, ctx.btf_ext->core_relos, "core_relo", ext.core_relos); !s) return s;
  }
  LinkScratch scratch(ctx.functions.size());
  std::vector<Extents> ends;
  // Program types by section: many programs share one section, and
  // functions come sorted by section, so each is classified once.
  std::size_t kind_of_section = 0;  // no code section has index 0
  std::optional<SectionKind> kind;
  ProgramStorage& st_out = ctx.model.storage;
  // Every function's name in one buffer (one allocation, not one string
  // per function), sized first so that views into it stay valid.
  std::size_t name_bytes = 0;
  for (const Function& f : ctx.functions) name_bytes += f.name.size();
  st_out.function_names.reserve(name_bytes);
  scratch.names.reserve(ctx.functions.size());
  for (const Function& f : ctx.functions) {
    const std::size_t at = st_out.function_names.size();
    st_out.function_names.insert(st_out.function_names.end(), f.name.begin(), f.name.end());
    scratch.names.emplace_back(st_out.function_names.data() + at, f.name.size());
  }
  const auto entries = static_cast<std::size_t>(
      std::count_if(ctx.functions.begin(), ctx.functions.end(), [](const Function& f) { return !f.is_subprogram; }));
  ctx.model.programs.reserve(entries);
  ends.reserve(entries);
  // Room for every function once: exact when no subprogram is shared, and
  // a start that spares the usual object all regrowth.
  std::size_t slots = 0;
  for (const Function& f : ctx.functions) slots += f.size;
  st_out.insns.reserve(slots);
  st_out.functions.reserve(ctx.functions.size());
  st_out.relocations.reserve(ctx.all_code_relocs.size());
  if (ctx.btf_ext) {
    auto records = [](const auto& sections) {
      std::size_t n = 0;
      for (const auto& s : sections) n += s.records.size();
      return n;
    };
    st_out.func_info.reserve(records(ctx.btf_ext->func_info));
    st_out.line_info.reserve(records(ctx.btf_ext->line_info));
    st_out.core_relos.reserve(records(ctx.btf_ext->core_relos));
  }
  for (std::size_t fi = 0; fi < ctx.functions.size(); ++fi) {
    const Function& f = ctx.functions[fi];
    if (f.is_subprogram) continue;
    const std::string_view section = ctx.section(f.section).name;
    if (f.section != kind_of_section) {
      kind = classify_section(section);
      kind_of_section = f.section;
    }
    if (!kind) return bad_input("program '{}': section '{}' names no program type (libbpf's SEC() conventions)", f.name, section);
    auto extents = Linker(ctx, ctx.model.storage, ext, fi, scratch).link();
    if (!extents) return extents.error();
    Program& program = ctx.model.programs.emplace_back();
    program.name = f.name;
    program.section = section;
    program.section_offset = std::uint64_t{f.start} * isa::kInsnSize;
    program.kind = *kind;
    ends.push_back(*extents);
  }
  // Views into the storage, now that it no longer grows.
  const ProgramStorage& st = ctx.model.storage;
  Extents begin;
  for (std::size_t i = 0; i < ctx.model.programs.size(); ++i) {
    Program& p = ctx.model.programs[i];
    const Extents& end = ends[i];
    auto view = [](const auto& store, std::size_t from, std::size_t to) {
      return std::span(store.data() + from, to - from);
    };
    p.insns = view(st.insns, begin.insns, end.insns);
    p.relocations = view(st.relocations, begin.relocations, end.relocations);
    p.functions = view(st.functions, begin.functions, end.functions);
    p.func_info = view(st.func_info, begin.func_info, end.func_info);
    p.line_info = view(st.line_info, begin.line_info, end.line_info);
    p.core_relos = view(st.core_relos, begin.core_relos, end.core_relos);
    begin = end;
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
