#include "bpfsign/isa/decode.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace bpfsign::isa {

namespace {

Error reject(const RawInsn& r, const char* why) {
  return bad_input("opcode 0x{:02x} (dst r{}, src r{}, off {}, imm {}): {}", r.code, r.dst, r.src,
                   r.off, r.imm, why);
}

bool valid_reg(std::uint8_t n) { return n <= kMaxReg; }

MemSize mem_size(std::uint8_t code) {
  switch (size_of(code)) {
    case kSizeB: return MemSize::B;
    case kSizeH: return MemSize::H;
    case kSizeW: return MemSize::W;
    default: return MemSize::DW;
  }
}

Result<Instruction> decode_alu(const RawInsn& r) {
  const bool is64 = class_of(r.code) == kClassAlu64;
  const bool reg_src = src_bit_of(r.code) == kSrcX;
  const std::uint8_t op = op_of(r.code);

  if (op == kAluEnd) {
    if (r.src != 0 || r.off != 0) return reject(r, "byte swap uses reserved fields");
    if (r.imm != 16 && r.imm != 32 && r.imm != 64) return reject(r, "byte swap width must be 16, 32 or 64");
    EndianKind kind = EndianKind::ToLe;
    if (is64) {
      if (reg_src) return reject(r, "64-bit byte swap has no big-endian form");
      kind = EndianKind::Bswap;
    } else {
      kind = reg_src ? EndianKind::ToBe : EndianKind::ToLe;
    }
    return Instruction{Endian{kind, static_cast<std::uint8_t>(r.imm), Reg{r.dst}}};
  }
  if (op == kAluNeg) {
    if (reg_src || r.src != 0 || r.off != 0 || r.imm != 0) return reject(r, "neg uses reserved fields");
    return Instruction{Alu{AluOp::Neg, is64, Reg{r.dst}, Imm{0}}};
  }

  AluOp alu_op{};
  bool signed_form = false;  // off == 1 selects sdiv/smod
  switch (op) {
    case kAluAdd: alu_op = AluOp::Add; break;
    case kAluSub: alu_op = AluOp::Sub; break;
    case kAluMul: alu_op = AluOp::Mul; break;
    case kAluDiv: alu_op = AluOp::Div; signed_form = true; break;
    case kAluOr: alu_op = AluOp::Or; break;
    case kAluAnd: alu_op = AluOp::And; break;
    case kAluLsh: alu_op = AluOp::Lsh; break;
    case kAluRsh: alu_op = AluOp::Rsh; break;
    case kAluMod: alu_op = AluOp::Mod; signed_form = true; break;
    case kAluXor: alu_op = AluOp::Xor; break;
    case kAluMov: alu_op = AluOp::Mov; break;
    case kAluArsh: alu_op = AluOp::Arsh; break;
    default: return reject(r, "unknown ALU operation");
  }

  if (op == kAluMov && reg_src && r.off != 0) {
    if (r.off == kOffAddrSpaceCast && is64) {
      if (!valid_reg(r.src)) return reject(r, "source register out of range");
      auto imm = static_cast<std::uint32_t>(r.imm);
      return Instruction{AddrSpaceCast{Reg{r.dst}, Reg{r.src}, static_cast<std::uint16_t>(imm >> 16),
                                       static_cast<std::uint16_t>(imm & 0xffff)}};
    }
    if (r.imm != 0) return reject(r, "register move uses reserved imm");
    if (!valid_reg(r.src)) return reject(r, "source register out of range");
    switch (r.off) {
      case 8: return Instruction{Alu{AluOp::MovSx8, is64, Reg{r.dst}, Reg{r.src}}};
      case 16: return Instruction{Alu{AluOp::MovSx16, is64, Reg{r.dst}, Reg{r.src}}};
      case 32:
        if (is64) return Instruction{Alu{AluOp::MovSx32, is64, Reg{r.dst}, Reg{r.src}}};
        return reject(r, "32-bit move cannot sign-extend from 32 bits");
      default: return reject(r, "move offset must be 0, 8, 16 or 32");
    }
  }

  if (r.off != 0) {
    if (!(signed_form && r.off == kOffSigned)) return reject(r, "ALU uses reserved offset");
    alu_op = alu_op == AluOp::Div ? AluOp::SDiv : AluOp::SMod;
  }
  if (reg_src) {
    if (r.imm != 0) return reject(r, "register-source ALU uses reserved imm");
    if (!valid_reg(r.src)) return reject(r, "source register out of range");
    return Instruction{Alu{alu_op, is64, Reg{r.dst}, Reg{r.src}}};
  }
  if (r.src != 0) return reject(r, "immediate-source ALU uses reserved source register");
  return Instruction{Alu{alu_op, is64, Reg{r.dst}, Imm{r.imm}}};
}

Result<Instruction> decode_ld(const RawInsn& r, const RawInsn* second) {
  const std::uint8_t mode = mode_of(r.code);
  if (mode == kModeImm) {
    if (size_of(r.code) != kSizeDW) return reject(r, "immediate load must be 64-bit (ld_imm64)");
    if (r.off != 0) return reject(r, "ld_imm64 uses reserved offset");
    if (r.src > kMaxPseudoSrc) return reject(r, "ld_imm64 has an unknown pseudo source");
    if (second == nullptr) return reject(r, "ld_imm64 is missing its second slot");
    if (second->code != 0 || second->dst != 0 || second->src != 0 || second->off != 0) {
      return reject(r, "ld_imm64 second slot uses reserved fields");
    }
    return Instruction{LoadImm64{Reg{r.dst}, static_cast<PseudoSrc>(r.src), r.imm, second->imm}};
  }
  if (mode == kModeAbs || mode == kModeInd) {
    if (size_of(r.code) == kSizeDW) return reject(r, "packet load cannot be 64-bit");
    if (r.dst != 0 || r.off != 0) return reject(r, "packet load uses reserved fields");
    const bool indirect = mode == kModeInd;
    if (!indirect && r.src != 0) return reject(r, "absolute packet load uses reserved source register");
    return Instruction{PacketLoad{mem_size(r.code), indirect, Reg{r.src}, r.imm}};
  }
  return reject(r, "unknown load mode");
}

Result<Instruction> decode_ldx(const RawInsn& r) {
  const std::uint8_t mode = mode_of(r.code);
  if (r.imm != 0) return reject(r, "load uses reserved imm");
  if (mode == kModeMem) return Instruction{Load{mem_size(r.code), false, Reg{r.dst}, Reg{r.src}, r.off}};
  if (mode == kModeMemSx) {
    if (size_of(r.code) == kSizeDW) return reject(r, "sign-extending load cannot be 64-bit");
    return Instruction{Load{mem_size(r.code), true, Reg{r.dst}, Reg{r.src}, r.off}};
  }
  return reject(r, "unknown load mode");
}

Result<Instruction> decode_atomic(const RawInsn& r) {
  const MemSize size = mem_size(r.code);
  const bool wide = size == MemSize::W || size == MemSize::DW;
  switch (r.imm) {
    case kAtomicLoadAcquire:
      return Instruction{Atomic{AtomicOp::LoadAcquire, false, size, Reg{r.dst}, Reg{r.src}, r.off}};
    case kAtomicStoreRelease:
      return Instruction{Atomic{AtomicOp::StoreRelease, false, size, Reg{r.dst}, Reg{r.src}, r.off}};
    default: break;
  }
  if (!wide) return reject(r, "atomic read-modify-write must be 32 or 64-bit");
  const bool fetch = (r.imm & kAtomicFetch) != 0;
  AtomicOp op{};
  switch (r.imm & ~kAtomicFetch) {
    case kAtomicAdd: op = AtomicOp::Add; break;
    case kAtomicOr: op = AtomicOp::Or; break;
    case kAtomicAnd: op = AtomicOp::And; break;
    case kAtomicXor: op = AtomicOp::Xor; break;
    default:
      if (r.imm == kAtomicXchg) return Instruction{Atomic{AtomicOp::Xchg, true, size, Reg{r.dst}, Reg{r.src}, r.off}};
      if (r.imm == kAtomicCmpXchg) return Instruction{Atomic{AtomicOp::CmpXchg, true, size, Reg{r.dst}, Reg{r.src}, r.off}};
      return reject(r, "unknown atomic operation");
  }
  return Instruction{Atomic{op, fetch, size, Reg{r.dst}, Reg{r.src}, r.off}};
}

Result<Instruction> decode_store(const RawInsn& r) {
  const std::uint8_t mode = mode_of(r.code);
  if (class_of(r.code) == kClassSt) {
    if (mode != kModeMem) return reject(r, "unknown store mode");
    if (r.src != 0) return reject(r, "immediate store uses reserved source register");
    return Instruction{Store{mem_size(r.code), Reg{r.dst}, r.off, Imm{r.imm}}};
  }
  if (!valid_reg(r.src)) return reject(r, "source register out of range");
  if (mode == kModeAtomic) return decode_atomic(r);
  if (mode != kModeMem) return reject(r, "unknown store mode");
  if (r.imm != 0) return reject(r, "register store uses reserved imm");
  return Instruction{Store{mem_size(r.code), Reg{r.dst}, r.off, Reg{r.src}}};
}

Result<Instruction> decode_jump(const RawInsn& r) {
  const bool is32 = class_of(r.code) == kClassJmp32;
  const bool reg_src = src_bit_of(r.code) == kSrcX;
  const std::uint8_t op = op_of(r.code);

  switch (op) {
    case kJmpJa:
      if (reg_src || r.dst != 0 || r.src != 0) return reject(r, "goto uses reserved fields");
      if (is32) {
        if (r.off != 0) return reject(r, "gotol uses reserved offset");
        return Instruction{LongGoto{r.imm}};
      }
      if (r.imm != 0) return reject(r, "goto uses reserved imm");
      return Instruction{Goto{r.off}};
    case kJmpCall:
      if (is32) return reject(r, "call is not a 32-bit jump");
      if (reg_src) {
        if (r.src != 0 || r.off != 0 || r.imm != 0) return reject(r, "callx uses reserved fields");
        return Instruction{CallReg{Reg{r.dst}}};
      }
      if (r.dst != 0) return reject(r, "call uses reserved destination register");
      if (r.src > static_cast<std::uint8_t>(CallKind::Kfunc)) return reject(r, "call has an unknown kind");
      if (r.off != 0 && r.src != static_cast<std::uint8_t>(CallKind::Kfunc)) {
        return reject(r, "call uses reserved offset");
      }
      return Instruction{Call{static_cast<CallKind>(r.src), r.imm, r.off}};
    case kJmpExit:
      if (is32 || reg_src || r.dst != 0 || r.src != 0 || r.off != 0 || r.imm != 0) {
        return reject(r, "exit uses reserved fields");
      }
      return Instruction{Exit{}};
    case kJmpJcond:
      if (is32 || reg_src) return reject(r, "may_goto has only a 64-bit immediate form");
      if (r.dst != 0 || r.src != 0 || r.imm != 0) return reject(r, "may_goto uses reserved fields");
      return Instruction{MayGoto{r.off}};
    default: break;
  }

  JmpOp jop{};
  switch (op) {
    case kJmpJeq: jop = JmpOp::Eq; break;
    case kJmpJgt: jop = JmpOp::Gt; break;
    case kJmpJge: jop = JmpOp::Ge; break;
    case kJmpJset: jop = JmpOp::Set; break;
    case kJmpJne: jop = JmpOp::Ne; break;
    case kJmpJsgt: jop = JmpOp::SGt; break;
    case kJmpJsge: jop = JmpOp::SGe; break;
    case kJmpJlt: jop = JmpOp::Lt; break;
    case kJmpJle: jop = JmpOp::Le; break;
    case kJmpJslt: jop = JmpOp::SLt; break;
    case kJmpJsle: jop = JmpOp::SLe; break;
    default: return reject(r, "unknown jump operation");
  }
  if (reg_src) {
    if (r.imm != 0) return reject(r, "register-source jump uses reserved imm");
    if (!valid_reg(r.src)) return reject(r, "source register out of range");
    return Instruction{CondJump{jop, is32, Reg{r.dst}, Reg{r.src}, r.off}};
  }
  if (r.src != 0) return reject(r, "immediate-source jump uses reserved source register");
  return Instruction{CondJump{jop, is32, Reg{r.dst}, Imm{r.imm}, r.off}};
}

}  // namespace

Result<Instruction> decode_one(const RawInsn& first, const RawInsn* second) {
  if (!valid_reg(first.dst)) return reject(first, "destination register out of range");
  switch (class_of(first.code)) {
    case kClassAlu:
    case kClassAlu64: return decode_alu(first);
    case kClassLd: return decode_ld(first, second);
    case kClassLdx:
      if (!valid_reg(first.src)) return reject(first, "source register out of range");
      return decode_ldx(first);
    case kClassSt:
    case kClassStx: return decode_store(first);
    default: return decode_jump(first);
  }
}

Result<std::vector<PlacedInstruction>> decode_program(Bytes bytes, std::size_t max_insns) {
  if (bytes.size() % kInsnSize != 0) {
    return bad_input("instruction stream of {} bytes is not a multiple of {}", bytes.size(), kInsnSize);
  }
  const std::size_t slots = bytes.size() / kInsnSize;
  std::vector<PlacedInstruction> out;
  out.reserve(std::min(slots, max_insns));
  for (std::size_t pc = 0; pc < slots && out.size() < max_insns;) {
    RawInsn first = raw_from_bytes(bytes.data() + pc * kInsnSize);
    RawInsn second{};
    const bool has_second = pc + 1 < slots;
    if (has_second) second = raw_from_bytes(bytes.data() + (pc + 1) * kInsnSize);
    auto insn = decode_one(first, has_second ? &second : nullptr);
    if (!insn) {
      return insn.error().with_context(fmt::format("instruction {} (byte offset {})", pc, pc * kInsnSize));
    }
    const std::size_t n = slot_count(*insn);
    out.push_back(PlacedInstruction{pc, std::move(insn).value()});
    pc += n;
  }
  return out;
}

namespace {

// Most opcodes are accepted by decode_one exactly when a few fields are zero
// (or hold a register): for those, validation need not build an
// Instruction. A rule says which fields must be zero; an opcode without a
// rule (ld_imm64, calls, byte swaps, atomics, div/mod, neg, may_goto, …)
// and any slot that breaks its rule go through decode_one, which then
// accepts a variant form (movsx, sdiv) or gives its error. So the rules
// only ever accept, and only what decode_one accepts: tested over every
// opcode and a grid of field values (isa_validate_test).
enum RuleBit : std::uint8_t {
  kRuleSimple = 1,    // the opcode has a rule
  kRuleDstZero = 2,
  kRuleSrcZero = 4,   // else src must be a register r0-r10
  kRuleOffZero = 8,
  kRuleImmZero = 16,
};

constexpr std::uint8_t rule_for(std::uint8_t code) {
  const std::uint8_t cls = class_of(code);
  const bool reg_src = src_bit_of(code) == kSrcX;
  const std::uint8_t op = op_of(code);
  const std::uint8_t by_source = reg_src ? kRuleImmZero : kRuleSrcZero;
  switch (cls) {
    case kClassAlu:
    case kClassAlu64:
      switch (op) {
        case kAluAdd: case kAluSub: case kAluMul: case kAluOr: case kAluAnd: case kAluLsh:
        case kAluRsh: case kAluXor: case kAluMov: case kAluArsh:
          return kRuleSimple | kRuleOffZero | by_source;
        default: return 0;
      }
    case kClassLdx:
      if (mode_of(code) == kModeMem) return kRuleSimple | kRuleImmZero;
      return 0;
    case kClassSt:
      if (mode_of(code) == kModeMem) return kRuleSimple | kRuleSrcZero;
      return 0;
    case kClassStx:
      if (mode_of(code) == kModeMem) return kRuleSimple | kRuleImmZero;
      return 0;
    case kClassJmp:
    case kClassJmp32:
      switch (op) {
        case kJmpJeq: case kJmpJgt: case kJmpJge: case kJmpJset: case kJmpJne: case kJmpJsgt:
        case kJmpJsge: case kJmpJlt: case kJmpJle: case kJmpJslt: case kJmpJsle:
          return kRuleSimple | by_source;
        case kJmpExit:
          if (cls == kClassJmp && !reg_src) return kRuleSimple | kRuleDstZero | kRuleSrcZero | kRuleOffZero | kRuleImmZero;
          return 0;
        case kJmpJa:
          if (cls == kClassJmp && !reg_src) return kRuleSimple | kRuleDstZero | kRuleSrcZero | kRuleImmZero;
          return 0;
        default: return 0;
      }
    default: return 0;  // kClassLd: ld_imm64 and packet loads
  }
}

constexpr auto kRules = [] {
  std::array<std::uint8_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = rule_for(static_cast<std::uint8_t>(c));
  return t;
}();

// True when the slot is a single-slot instruction decode_one accepts, by
// its opcode's rule alone; false means "ask decode_one", not "invalid".
bool passes_rule(const RawInsn& r) {
  const std::uint8_t rule = kRules[r.code];
  if ((rule & kRuleSimple) == 0 || r.dst > kMaxReg) return false;
  if ((rule & kRuleDstZero) && r.dst != 0) return false;
  if ((rule & kRuleSrcZero) ? r.src != 0 : r.src > kMaxReg) return false;
  if ((rule & kRuleOffZero) && r.off != 0) return false;
  if ((rule & kRuleImmZero) && r.imm != 0) return false;
  return true;
}

}  // namespace

Status validate_program(std::span<const RawInsn> insns) {
  for (std::size_t pc = 0; pc < insns.size();) {
    if (passes_rule(insns[pc])) {
      ++pc;
      continue;
    }
    const RawInsn* second = pc + 1 < insns.size() ? &insns[pc + 1] : nullptr;
    auto insn = decode_one(insns[pc], second);
    if (!insn) return insn.error().with_context(fmt::format("instruction {} (byte offset {})", pc, pc * kInsnSize));
    pc += slot_count(*insn);
  }
  return Ok{};
}

}  // namespace bpfsign::isa
