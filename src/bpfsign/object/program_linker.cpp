// Links each entry program with the subprograms it uses into one
// instruction stream, in libbpf's order (bpf_object__reloc_code): scanning
// the growing program, a subprogram is appended when first called or
// referenced and scanned at once, before the caller's scan resumes. The
// same order gives the same instructions, hence the same kernel tag.
#include <algorithm>

#include "bpfsign/isa/opcodes.hpp"
#include "bpfsign/object/reader_context.hpp"

namespace bpfsign::object::detail {

namespace {

constexpr std::uint8_t kCodeCall = isa::kClassJmp | isa::kJmpCall;
constexpr std::uint8_t kCodeLdImm64 = isa::kClassLd | isa::kSizeDW | isa::kModeImm;

bool is_local_call(const isa::RawInsn& i) { return i.code == kCodeCall && i.src == static_cast<std::uint8_t>(isa::CallKind::Local); }
bool is_func_ref(const isa::RawInsn& i) { return i.code == kCodeLdImm64 && i.src == static_cast<std::uint8_t>(isa::PseudoSrc::Func); }

const CodeReloc* reloc_at(const std::vector<CodeReloc>& list, std::uint32_t insn) {
  auto it = std::lower_bound(list.begin(), list.end(), insn, [](const CodeReloc& r, std::uint32_t v) { return r.insn < v; });
  return it != list.end() && it->insn == insn ? &*it : nullptr;
}

class Linker {
 public:
  Linker(const ReaderContext& ctx, std::size_t entry) : ctx_(ctx), entry_(entry), placed_at_(ctx.functions.size(), kNotPlaced) {}

  Result<Program> link() {
    const Function& main = ctx_.functions[entry_];
    if (auto s = place(entry_); !s) return s.error().with_context(fmt::format("program '{}'", main.name));
    struct Frame {
      std::size_t fn;
      std::uint32_t next;
    };
    std::vector<Frame> stack{{entry_, 0}};
    while (!stack.empty()) {
      Frame& top = stack.back();
      const Function& fn = ctx_.functions[top.fn];
      if (top.next == fn.size) {
        stack.pop_back();
        continue;
      }
      const std::uint32_t i = top.next;
      const std::uint32_t at = placed_at_[top.fn] + i;
      const isa::RawInsn insn = program_.insns[at];
      const CodeReloc* reloc = reloc_at(ctx_.code_relocs[top.fn], i);
      // clang emits kfunc calls as BPF_PSEUDO_CALL with an extern relocation.
      if ((!is_local_call(insn) && !is_func_ref(insn)) || (reloc != nullptr && reloc->kind == RelocKind::KfuncCall)) {
        ++top.next;
        continue;
      }
      auto callee = callee_of(top.fn, i, insn);
      if (!callee) return callee.error().with_context(fmt::format("program '{}': function '{}' instruction {}", main.name, fn.name, i));
      if (placed_at_[*callee] == kNotPlaced) {
        if (auto s = place(*callee); !s) return s.error().with_context(fmt::format("program '{}'", main.name));
        stack.push_back({*callee, 0});  // `top` is invalid from here; this call is revisited after the callee
        continue;
      }
      const std::int64_t rel = std::int64_t{placed_at_[*callee]} - at - 1;
      program_.insns[at].imm = static_cast<std::int32_t>(rel);
      ++top.next;
    }
    if (auto s = apply_relocations(); !s) return s.error().with_context(fmt::format("program '{}'", main.name));
    if (auto s = attach_ext_info(); !s) return s.error().with_context(fmt::format("program '{}'", main.name));
    return std::move(program_);
  }

 private:
  static constexpr std::uint32_t kNotPlaced = 0xffffffffu;

  Status place(std::size_t fi) {
    const Function& f = ctx_.functions[fi];
    if (program_.insns.size() + f.size > 0xffffffu) return bad_input("linked program exceeds 16M instructions");
    placed_at_[fi] = static_cast<std::uint32_t>(program_.insns.size());
    order_.push_back(fi);
    program_.functions.push_back({f.name, placed_at_[fi], f.size});
    program_.insns.insert(program_.insns.end(), f.insns.begin(), f.insns.end());
    return Ok{};
  }

  // The .text function a call or function reference at slot `i` of `fi` targets.
  Result<std::size_t> callee_of(std::size_t fi, std::uint32_t i, const isa::RawInsn& insn) const {
    const Function& fn = ctx_.functions[fi];
    const CodeReloc* r = reloc_at(ctx_.code_relocs[fi], i);
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
    for (std::size_t k = 0; k < ctx_.functions.size(); ++k) {
      const Function& f = ctx_.functions[k];
      if (f.section == *ctx_.text_section && f.start == target) {
        if (!f.is_subprogram) internal_error(".text function is not a subprogram");
        return k;
      }
    }
    return bad_input("call target slot {} of .text is not the start of a function", target);
  }

  Status apply_relocations() {
    const auto& maps = ctx_.model.maps;
    for (std::size_t fi : order_) {
      const std::uint32_t base = placed_at_[fi];
      for (const CodeReloc& cr : ctx_.code_relocs[fi]) {
        Relocation out{base + cr.insn, cr.kind, cr.target, cr.offset};
        isa::RawInsn& insn = program_.insns[out.insn];
        isa::RawInsn* next = cr.kind == RelocKind::SubprogCall || cr.kind == RelocKind::KfuncCall ? nullptr : &program_.insns[out.insn + 1];
        switch (cr.kind) {
          case RelocKind::SubprogCall:
          case RelocKind::SubprogAddr: {
            // Already linked by the scan; record which placed function it targets.
            auto pos = std::find_if(order_.begin(), order_.end(), [&](std::size_t k) {
              return ctx_.functions[k].section == *ctx_.text_section && ctx_.functions[k].start == cr.target;
            });
            if (pos == order_.end()) internal_error("linked call target was not placed");
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
        program_.relocations.push_back(out);
      }
    }
    std::sort(program_.relocations.begin(), program_.relocations.end(),
              [](const Relocation& a, const Relocation& b) { return a.insn < b.insn; });
    return Ok{};
  }

  // Records of one kind for function `fi`, with offsets moved into the
  // linked program; nullopt when the function has none.
  template <typename Record>
  std::optional<std::vector<Record>> records_for(const std::vector<btf::ExtSection<Record>>& sections, std::size_t fi,
                                                 std::uint32_t unit) const {
    const Function& f = ctx_.functions[fi];
    const std::string& sec = ctx_.section(f.section).name;
    std::vector<Record> out;
    for (const auto& s : sections) {
      if (s.section != sec) continue;
      for (Record r : s.records) {
        const std::uint32_t slot = r.insn_off / 8;
        if (slot < f.start || slot >= f.start + f.size) continue;
        r.insn_off = (slot - f.start + placed_at_[fi]) * unit;
        out.push_back(r);
      }
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  // func_info and line_info as libbpf hands them to the kernel: dropped
  // altogether when the entry function has none, an error when only a
  // subprogram lacks them.
  template <typename Record>
  Status gather(const std::vector<btf::ExtSection<Record>>& sections, std::vector<Record>& out, const char* what,
                std::uint32_t unit, bool all_or_nothing) {
    for (std::size_t fi : order_) {
      auto recs = records_for(sections, fi, unit);
      if (!recs) {
        if (!all_or_nothing) continue;
        if (fi == entry_) return Ok{};
        return bad_input("subprogram '{}' has no {} records while its caller has", ctx_.functions[fi].name, what);
      }
      out.insert(out.end(), recs->begin(), recs->end());
    }
    return Ok{};
  }

  Status attach_ext_info() {
    if (!ctx_.btf_ext) return Ok{};
    const auto& ext = *ctx_.btf_ext;
    if (auto s = gather(ext.func_info, program_.func_info, "func_info", 1, true); !s) return s;
    if (auto s = gather(ext.line_info, program_.line_info, "line_info", 1, true); !s) return s;
    return gather(ext.core_relos, program_.core_relos, "CO-RE", 8, false);
  }

  const ReaderContext& ctx_;
  std::size_t entry_;
  std::vector<std::uint32_t> placed_at_;
  std::vector<std::size_t> order_;  // functions in placement order
  Program program_;
};

// Every .BTF.ext record must point at an instruction of a code section.
template <typename Record>
Status check_records(const ReaderContext& ctx, const std::vector<btf::ExtSection<Record>>& sections, const char* what) {
  for (const auto& s : sections) {
    const ElfSection* sec = ctx.elf.find_section(s.section);
    if (sec == nullptr || ctx.roles[sec->index] != SectionRole::Code) {
      return bad_input(".BTF.ext {}: section '{}' is not a code section of this object", what, s.section);
    }
    for (std::size_t i = 0; i < s.records.size(); ++i) {
      const std::uint32_t off = s.records[i].insn_off;
      if (off % isa::kInsnSize != 0 || off >= sec->size) {
        return bad_input(".BTF.ext {}: section '{}' record {}: instruction offset {} is not an instruction of the {}-byte section",
                         what, s.section, i, off, sec->size);
      }
    }
  }
  return Ok{};
}

}  // namespace

Status link_programs(ReaderContext& ctx) {
  if (ctx.btf_ext) {
    if (auto s = check_records(ctx, ctx.btf_ext->func_info, "func_info"); !s) return s;
    if (auto s = check_records(ctx, ctx.btf_ext->line_info, "line_info"); !s) return s;
    if (auto s = check_records(ctx, ctx.btf_ext->core_relos, "core_relo"); !s) return s;
  }
  for (std::size_t fi = 0; fi < ctx.functions.size(); ++fi) {
    const Function& f = ctx.functions[fi];
    if (f.is_subprogram) continue;
    const std::string& section = ctx.section(f.section).name;
    auto kind = classify_section(section);
    if (!kind) return bad_input("program '{}': section '{}' names no program type (libbpf's SEC() conventions)", f.name, section);
    auto program = Linker(ctx, fi).link();
    if (!program) return program.error();
    program->name = f.name;
    program->section = section;
    program->section_offset = std::uint64_t{f.start} * isa::kInsnSize;
    program->kind = *kind;
    ctx.model.programs.push_back(std::move(program).value());
  }
  return Ok{};
}

}  // namespace bpfsign::object::detail
