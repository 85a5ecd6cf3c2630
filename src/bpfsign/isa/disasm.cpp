#include "bpfsign/isa/disasm.hpp"

#include <fmt/format.h>

#include "bpfsign/common/error.hpp"

namespace bpfsign::isa {

namespace {

// LLVM prints immediates as signed hexadecimal: 0x4, -0x1.
std::string hex(std::int64_t v) {
  if (v < 0) return fmt::format("-0x{:x}", 0 - static_cast<std::uint64_t>(v));
  return fmt::format("0x{:x}", static_cast<std::uint64_t>(v));
}

// Jump and call displacements: +0x5, -0x1, +0x0.
std::string rel(std::int64_t v) { return v < 0 ? hex(v) : fmt::format("+0x{:x}", static_cast<std::uint64_t>(v)); }

std::string reg(Reg r, bool wide = true) { return fmt::format("{}{}", wide ? 'r' : 'w', r.n); }

std::string operand(const Operand& o, bool wide) {
  if (const auto* r = std::get_if<Reg>(&o)) return reg(*r, wide);
  return hex(std::get<Imm>(o).v);
}

// "(r2 - 0x3)" / "(r1 + 0x0)"
std::string address(Reg base, std::int16_t off) {
  if (off < 0) return fmt::format("({} - {})", reg(base), hex(-static_cast<std::int64_t>(off)));
  return fmt::format("({} + {})", reg(base), hex(off));
}

const char* type_name(MemSize s, bool is_signed = false) {
  switch (s) {
    case MemSize::B: return is_signed ? "s8" : "u8";
    case MemSize::H: return is_signed ? "s16" : "u16";
    case MemSize::W: return is_signed ? "s32" : "u32";
    case MemSize::DW: return is_signed ? "s64" : "u64";
  }
  internal_error("bad MemSize");
}

const char* alu_symbol(AluOp op) {
  switch (op) {
    case AluOp::Add: return "+=";
    case AluOp::Sub: return "-=";
    case AluOp::Mul: return "*=";
    case AluOp::Div: return "/=";
    case AluOp::SDiv: return "s/=";
    case AluOp::Or: return "|=";
    case AluOp::And: return "&=";
    case AluOp::Lsh: return "<<=";
    case AluOp::Rsh: return ">>=";
    case AluOp::Mod: return "%=";
    case AluOp::SMod: return "s%=";
    case AluOp::Xor: return "^=";
    case AluOp::Mov: return "=";
    case AluOp::Arsh: return "s>>=";
    default: internal_error("ALU op has no compound symbol");
  }
}


std::string alu_text(const Alu& a) {
  const std::string d = reg(a.dst, a.is64);
  switch (a.op) {
    case AluOp::Neg: return fmt::format("{} = -{}", d, d);
    case AluOp::MovSx8: return fmt::format("{} = (s8){}", d, operand(a.src, a.is64));
    case AluOp::MovSx16: return fmt::format("{} = (s16){}", d, operand(a.src, a.is64));
    case AluOp::MovSx32: return fmt::format("{} = (s32){}", d, operand(a.src, a.is64));
    default: return fmt::format("{} {} {}", d, alu_symbol(a.op), operand(a.src, a.is64));
  }
}

// ld_imm64 with a pseudo source. LLVM prints "ld_pseudo r1, 0x2, 0x4", which
// drops the value offset; auditors need it, so we name what is referenced.
std::string pseudo_text(const LoadImm64& l) {
  const std::string d = reg(l.dst);
  switch (l.src) {
    case PseudoSrc::Imm: return fmt::format("{} = {} ll", d, hex(l.value()));
    case PseudoSrc::MapFd: return fmt::format("{} = map_fd({}) ll", d, hex(l.imm));
    case PseudoSrc::MapValue: return fmt::format("{} = map_value({}) + {} ll", d, hex(l.imm), hex(l.next_imm));
    case PseudoSrc::BtfId: return fmt::format("{} = btf_id({}) ll", d, hex(l.imm));
    case PseudoSrc::Func: return fmt::format("{} = func({}) ll", d, rel(l.imm));
    case PseudoSrc::MapIdx: return fmt::format("{} = map_idx({}) ll", d, hex(l.imm));
    case PseudoSrc::MapIdxValue:
      return fmt::format("{} = map_idx_value({}) + {} ll", d, hex(l.imm), hex(l.next_imm));
  }
  internal_error("bad PseudoSrc");
}

// LLVM's default (non-alu32) syntax names 32-bit atomic operands r, but has
// no default syntax for the 32-bit fetch forms; those use its alu32 syntax.
std::string atomic_text(const Atomic& a) {
  const bool w64 = a.size == MemSize::DW;
  const char* ty = type_name(a.size);
  const std::string addr = address(a.dst, a.off);
  auto val = [&](bool wide) { return reg(a.src, wide); };
  const char* sym = nullptr;
  const char* name = nullptr;
  switch (a.op) {
    case AtomicOp::Add: sym = "+="; name = "atomic_fetch_add"; break;
    case AtomicOp::Or: sym = "|="; name = "atomic_fetch_or"; break;
    case AtomicOp::And: sym = "&="; name = "atomic_fetch_and"; break;
    case AtomicOp::Xor: sym = "^="; name = "atomic_fetch_xor"; break;
    case AtomicOp::Xchg:
      return fmt::format("{} = {}({}, {})", val(w64), w64 ? "xchg_64" : "xchg32_32",
                         addr.substr(1, addr.size() - 2), val(w64));
    case AtomicOp::CmpXchg:
      return fmt::format("{} = {}({}, {}, {})", reg(Reg{0}, w64), w64 ? "cmpxchg_64" : "cmpxchg32_32",
                         addr.substr(1, addr.size() - 2), reg(Reg{0}, w64), val(w64));
    case AtomicOp::LoadAcquire:
      return fmt::format("{} = load_acquire(({} *){})", reg(a.dst, w64), ty, address(a.src, a.off));
    case AtomicOp::StoreRelease:
      return fmt::format("store_release(({} *){}, {})", ty, addr, val(w64));
  }
  if (a.fetch) return fmt::format("{} = {}(({} *){}, {})", val(w64), name, ty, addr, val(w64));
  // Plain add prints r in both LLVM syntaxes; or/and/xor exist only in alu32.
  const bool wide = w64 || a.op == AtomicOp::Add;
  return fmt::format("lock *({} *){} {} {}", ty, addr, sym, val(wide));
}

const char* endian_name(EndianKind k) {
  switch (k) {
    case EndianKind::ToLe: return "le";
    case EndianKind::ToBe: return "be";
    case EndianKind::Bswap: return "bswap";
  }
  internal_error("bad EndianKind");
}

}  // namespace

std::string to_string(const Instruction& insn) {
  return std::visit(
      Overloaded{
          [](const Alu& a) { return alu_text(a); },
          [](const AddrSpaceCast& c) {
            return fmt::format("{} = addr_space_cast({}, {}, {})", reg(c.dst), reg(c.src), hex(c.dst_as),
                               hex(c.src_as));
          },
          [](const Endian& e) {
            return fmt::format("{} = {}{} {}", reg(e.dst), endian_name(e.kind), e.bits, reg(e.dst));
          },
          [](const LoadImm64& l) { return pseudo_text(l); },
          [](const Load& l) {
            return fmt::format("{} = *({} *){}", reg(l.dst), type_name(l.size, l.sign_extend), address(l.base, l.off));
          },
          [](const Store& s) {
            return fmt::format("*({} *){} = {}", type_name(s.size), address(s.base, s.off), operand(s.value, true));
          },
          [](const Atomic& a) { return atomic_text(a); },
          [](const PacketLoad& p) {
            return fmt::format("r0 = *({} *)skb[{}]", type_name(p.size), p.indirect ? reg(p.src) : hex(p.imm));
          },
          [](const CondJump& j) {
            return fmt::format("if {} {} {} goto {}", reg(j.dst, !j.is32), jmp_symbol(j.op), operand(j.src, !j.is32),
                               rel(j.off));
          },
          [](const Goto& g) { return fmt::format("goto {}", rel(g.off)); },
          [](const LongGoto& g) { return fmt::format("gotol {}", rel(g.off)); },
          [](const MayGoto& g) { return fmt::format("may_goto {}", rel(g.off)); },
          [](const Call& c) { return fmt::format("call {}", hex(c.imm)); },
          [](const CallReg& c) { return fmt::format("callx {}", reg(c.target)); },
          [](const Exit&) { return std::string("exit"); },
      },
      insn);
}

std::string disassemble(const std::vector<PlacedInstruction>& program) {
  std::string out;
  for (const auto& p : program) out += fmt::format("{:>8}:\t{}\n", p.pc, to_string(p.insn));
  return out;
}

const char* jmp_symbol(JmpOp op) {
  switch (op) {
    case JmpOp::Eq: return "==";
    case JmpOp::Gt: return ">";
    case JmpOp::Ge: return ">=";
    case JmpOp::Set: return "&";
    case JmpOp::Ne: return "!=";
    case JmpOp::SGt: return "s>";
    case JmpOp::SGe: return "s>=";
    case JmpOp::Lt: return "<";
    case JmpOp::Le: return "<=";
    case JmpOp::SLt: return "s<";
    case JmpOp::SLe: return "s<=";
  }
  internal_error("bad JmpOp");
}

}  // namespace bpfsign::isa
