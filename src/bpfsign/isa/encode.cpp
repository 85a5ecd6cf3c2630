#include "bpfsign/isa/encode.hpp"

#include <cstring>

#include "bpfsign/common/error.hpp"

namespace bpfsign::isa {

namespace {

std::uint8_t size_bits(MemSize s) {
  switch (s) {
    case MemSize::B: return kSizeB;
    case MemSize::H: return kSizeH;
    case MemSize::W: return kSizeW;
    case MemSize::DW: return kSizeDW;
  }
  internal_error("bad MemSize");
}

std::uint8_t alu_op_bits(AluOp op) {
  switch (op) {
    case AluOp::Add: return kAluAdd;
    case AluOp::Sub: return kAluSub;
    case AluOp::Mul: return kAluMul;
    case AluOp::Div:
    case AluOp::SDiv: return kAluDiv;
    case AluOp::Or: return kAluOr;
    case AluOp::And: return kAluAnd;
    case AluOp::Lsh: return kAluLsh;
    case AluOp::Rsh: return kAluRsh;
    case AluOp::Neg: return kAluNeg;
    case AluOp::Mod:
    case AluOp::SMod: return kAluMod;
    case AluOp::Xor: return kAluXor;
    case AluOp::Mov:
    case AluOp::MovSx8:
    case AluOp::MovSx16:
    case AluOp::MovSx32: return kAluMov;
    case AluOp::Arsh: return kAluArsh;
  }
  internal_error("bad AluOp");
}

std::int16_t alu_off(AluOp op) {
  switch (op) {
    case AluOp::SDiv:
    case AluOp::SMod: return kOffSigned;
    case AluOp::MovSx8: return 8;
    case AluOp::MovSx16: return 16;
    case AluOp::MovSx32: return 32;
    default: return 0;
  }
}

std::uint8_t jmp_op_bits(JmpOp op) {
  switch (op) {
    case JmpOp::Eq: return kJmpJeq;
    case JmpOp::Gt: return kJmpJgt;
    case JmpOp::Ge: return kJmpJge;
    case JmpOp::Set: return kJmpJset;
    case JmpOp::Ne: return kJmpJne;
    case JmpOp::SGt: return kJmpJsgt;
    case JmpOp::SGe: return kJmpJsge;
    case JmpOp::Lt: return kJmpJlt;
    case JmpOp::Le: return kJmpJle;
    case JmpOp::SLt: return kJmpJslt;
    case JmpOp::SLe: return kJmpJsle;
  }
  internal_error("bad JmpOp");
}

std::int32_t atomic_imm(const Atomic& a) {
  switch (a.op) {
    case AtomicOp::Add: return kAtomicAdd | (a.fetch ? kAtomicFetch : 0);
    case AtomicOp::Or: return kAtomicOr | (a.fetch ? kAtomicFetch : 0);
    case AtomicOp::And: return kAtomicAnd | (a.fetch ? kAtomicFetch : 0);
    case AtomicOp::Xor: return kAtomicXor | (a.fetch ? kAtomicFetch : 0);
    case AtomicOp::Xchg: return kAtomicXchg;
    case AtomicOp::CmpXchg: return kAtomicCmpXchg;
    case AtomicOp::LoadAcquire: return kAtomicLoadAcquire;
    case AtomicOp::StoreRelease: return kAtomicStoreRelease;
  }
  internal_error("bad AtomicOp");
}

// Sets the source bit and the src/imm fields from an operand.
void put_operand(const Operand& src, RawInsn& r) {
  if (const auto* reg = std::get_if<Reg>(&src)) {
    r.code |= kSrcX;
    r.src = reg->n;
  } else {
    r.imm = std::get<Imm>(src).v;
  }
}

}  // namespace

void encode(const Instruction& insn, std::vector<RawInsn>& out) {
  RawInsn r{};
  std::visit(
      Overloaded{
          [&](const Alu& a) {
            r.code = static_cast<std::uint8_t>((a.is64 ? kClassAlu64 : kClassAlu) | alu_op_bits(a.op));
            r.dst = a.dst.n;
            r.off = alu_off(a.op);
            if (a.op != AluOp::Neg) put_operand(a.src, r);
          },
          [&](const AddrSpaceCast& c) {
            r.code = kClassAlu64 | kAluMov | kSrcX;
            r.dst = c.dst.n;
            r.src = c.src.n;
            r.off = kOffAddrSpaceCast;
            r.imm = static_cast<std::int32_t>((static_cast<std::uint32_t>(c.dst_as) << 16) | c.src_as);
          },
          [&](const Endian& e) {
            const std::uint8_t cls = e.kind == EndianKind::Bswap ? kClassAlu64 : kClassAlu;
            const std::uint8_t src = e.kind == EndianKind::ToBe ? kSrcX : kSrcK;
            r.code = static_cast<std::uint8_t>(cls | kAluEnd | src);
            r.dst = e.dst.n;
            r.imm = e.bits;
          },
          [&](const LoadImm64& l) {
            r.code = kClassLd | kModeImm | kSizeDW;
            r.dst = l.dst.n;
            r.src = static_cast<std::uint8_t>(l.src);
            r.imm = l.imm;
            out.push_back(r);
            r = RawInsn{};
            r.imm = l.next_imm;
          },
          [&](const Load& l) {
            r.code = static_cast<std::uint8_t>(kClassLdx | (l.sign_extend ? kModeMemSx : kModeMem) | size_bits(l.size));
            r.dst = l.dst.n;
            r.src = l.base.n;
            r.off = l.off;
          },
          [&](const Store& s) {
            const bool reg = std::holds_alternative<Reg>(s.value);
            r.code = static_cast<std::uint8_t>((reg ? kClassStx : kClassSt) | kModeMem | size_bits(s.size));
            r.dst = s.base.n;
            r.off = s.off;
            if (reg) {
              r.src = std::get<Reg>(s.value).n;
            } else {
              r.imm = std::get<Imm>(s.value).v;
            }
          },
          [&](const Atomic& a) {
            r.code = static_cast<std::uint8_t>(kClassStx | kModeAtomic | size_bits(a.size));
            r.dst = a.dst.n;
            r.src = a.src.n;
            r.off = a.off;
            r.imm = atomic_imm(a);
          },
          [&](const PacketLoad& p) {
            r.code = static_cast<std::uint8_t>(kClassLd | (p.indirect ? kModeInd : kModeAbs) | size_bits(p.size));
            r.src = p.indirect ? p.src.n : 0;
            r.imm = p.imm;
          },
          [&](const CondJump& j) {
            r.code = static_cast<std::uint8_t>((j.is32 ? kClassJmp32 : kClassJmp) | jmp_op_bits(j.op));
            r.dst = j.dst.n;
            r.off = j.off;
            put_operand(j.src, r);
          },
          [&](const Goto& g) {
            r.code = kClassJmp | kJmpJa;
            r.off = g.off;
          },
          [&](const LongGoto& g) {
            r.code = kClassJmp32 | kJmpJa;
            r.imm = g.off;
          },
          [&](const MayGoto& g) {
            r.code = kClassJmp | kJmpJcond;
            r.off = g.off;
          },
          [&](const Call& c) {
            r.code = kClassJmp | kJmpCall;
            r.src = static_cast<std::uint8_t>(c.kind);
            r.off = c.off;
            r.imm = c.imm;
          },
          [&](const CallReg& c) {
            r.code = kClassJmp | kJmpCall | kSrcX;
            r.dst = c.target.n;
          },
          [&](const Exit&) { r.code = kClassJmp | kJmpExit; },
      },
      insn);
  out.push_back(r);
}

void raw_to_bytes(const RawInsn& raw, std::uint8_t* slot) {
  slot[0] = raw.code;
  slot[1] = static_cast<std::uint8_t>((raw.src << 4) | (raw.dst & 0x0f));
  std::memcpy(slot + 2, &raw.off, sizeof raw.off);
  std::memcpy(slot + 4, &raw.imm, sizeof raw.imm);
}

std::vector<std::uint8_t> encode_program(const std::vector<Instruction>& program) {
  std::vector<RawInsn> raws;
  raws.reserve(program.size() + 8);
  for (const auto& insn : program) encode(insn, raws);
  std::vector<std::uint8_t> bytes(raws.size() * kInsnSize);
  for (std::size_t i = 0; i < raws.size(); ++i) raw_to_bytes(raws[i], bytes.data() + i * kInsnSize);
  return bytes;
}

}  // namespace bpfsign::isa
