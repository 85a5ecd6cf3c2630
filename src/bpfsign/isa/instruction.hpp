// The typed BPF instruction. Raw 8-byte slots exist only at the edges
// (decode.hpp, encode.hpp); everything inside works on these plain values.
// Each struct holds exactly the fields its encoding carries, so decode ->
// encode gives back the same bytes.
#pragma once

#include <cstdint>
#include <type_traits>
#include <variant>
#include <vector>

#include "bpfsign/isa/opcodes.hpp"

namespace bpfsign::isa {

// One raw instruction slot, as the kernel's struct bpf_insn lays it out.
// A trivial type (no default member initialisers; write `RawInsn r{}` for a
// zeroed one): vectors of instructions are then copied as blocks, which
// matters when a thousand programs are linked.
struct RawInsn {
  std::uint8_t code;
  std::uint8_t dst;  // 4 bits
  std::uint8_t src;  // 4 bits
  std::int16_t off;
  std::int32_t imm;
  friend bool operator==(const RawInsn&, const RawInsn&) = default;
};
static_assert(std::is_trivial_v<RawInsn>);

struct Reg {
  std::uint8_t n = 0;
  friend bool operator==(const Reg&, const Reg&) = default;
};
struct Imm {
  std::int32_t v = 0;
  friend bool operator==(const Imm&, const Imm&) = default;
};
using Operand = std::variant<Reg, Imm>;

enum class AluOp : std::uint8_t {
  Add, Sub, Mul, Div, SDiv, Or, And, Lsh, Rsh, Neg, Mod, SMod, Xor, Mov, Arsh,
  MovSx8, MovSx16, MovSx32,  // sign-extending moves (cpu v4), register source only
};

// dst = dst OP src, on 32 (w registers) or 64 bits (r registers).
struct Alu {
  AluOp op = AluOp::Add;
  bool is64 = true;
  Reg dst;
  Operand src = Imm{0};  // Imm{0} for Neg
  friend bool operator==(const Alu&, const Alu&) = default;
};

// dst = addr_space_cast(src, dst_as, src_as): arena pointer conversion.
struct AddrSpaceCast {
  Reg dst;
  Reg src;
  std::uint16_t dst_as = 0;
  std::uint16_t src_as = 0;
  friend bool operator==(const AddrSpaceCast&, const AddrSpaceCast&) = default;
};

enum class EndianKind : std::uint8_t { ToLe, ToBe, Bswap };

// Byte order conversion of dst over 16, 32 or 64 bits.
struct Endian {
  EndianKind kind = EndianKind::ToLe;
  std::uint8_t bits = 64;
  Reg dst;
  friend bool operator==(const Endian&, const Endian&) = default;
};

// The two-slot 64-bit immediate load; `src` says what the value refers to.
struct LoadImm64 {
  Reg dst;
  PseudoSrc src = PseudoSrc::Imm;
  std::int32_t imm = 0;       // first slot's imm
  std::int32_t next_imm = 0;  // second slot's imm
  std::int64_t value() const {
    return static_cast<std::int64_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(next_imm)) << 32) |
                                     static_cast<std::uint32_t>(imm));
  }
  friend bool operator==(const LoadImm64&, const LoadImm64&) = default;
};

enum class MemSize : std::uint8_t { B = 1, H = 2, W = 4, DW = 8 };

// dst = *(size *)(base + off), zero- or sign-extended.
struct Load {
  MemSize size = MemSize::DW;
  bool sign_extend = false;
  Reg dst;
  Reg base;
  std::int16_t off = 0;
  friend bool operator==(const Load&, const Load&) = default;
};

// *(size *)(base + off) = value (register: BPF_STX, immediate: BPF_ST).
struct Store {
  MemSize size = MemSize::DW;
  Reg base;
  std::int16_t off = 0;
  Operand value = Imm{0};
  friend bool operator==(const Store&, const Store&) = default;
};

enum class AtomicOp : std::uint8_t {
  Add, Or, And, Xor, Xchg, CmpXchg, LoadAcquire, StoreRelease,
};

// Atomic memory operation. For read-modify-write ops and store-release,
// `dst` is the base register and `src` the value; for load-acquire, `dst`
// receives the value loaded from (src + off), as the kernel encodes it.
struct Atomic {
  AtomicOp op = AtomicOp::Add;
  bool fetch = false;  // Add/Or/And/Xor: return the old value in src
  MemSize size = MemSize::DW;
  Reg dst;
  Reg src;
  std::int16_t off = 0;
  friend bool operator==(const Atomic&, const Atomic&) = default;
};

// Legacy socket-buffer load: r0 = *(size *)skb[imm] or skb[src + imm].
struct PacketLoad {
  MemSize size = MemSize::W;
  bool indirect = false;
  Reg src;  // only for indirect
  std::int32_t imm = 0;
  friend bool operator==(const PacketLoad&, const PacketLoad&) = default;
};

enum class JmpOp : std::uint8_t { Eq, Gt, Ge, Set, Ne, SGt, SGe, Lt, Le, SLt, SLe };

// if (dst OP src) goto pc + 1 + off, on 32 or 64 bits.
struct CondJump {
  JmpOp op = JmpOp::Eq;
  bool is32 = false;
  Reg dst;
  Operand src = Imm{0};
  std::int16_t off = 0;
  friend bool operator==(const CondJump&, const CondJump&) = default;
};

// goto pc + 1 + off (BPF_JMP | BPF_JA).
struct Goto {
  std::int16_t off = 0;
  friend bool operator==(const Goto&, const Goto&) = default;
};

// gotol pc + 1 + imm (BPF_JMP32 | BPF_JA, cpu v4): 32-bit jump offset.
struct LongGoto {
  std::int32_t off = 0;
  friend bool operator==(const LongGoto&, const LongGoto&) = default;
};

// may_goto pc + 1 + off: a bounded-loop escape (BPF_JMP | BPF_JCOND).
struct MayGoto {
  std::int16_t off = 0;
  friend bool operator==(const MayGoto&, const MayGoto&) = default;
};

struct Call {
  CallKind kind = CallKind::Helper;
  std::int32_t imm = 0;
  std::int16_t off = 0;  // kfunc only: fd_array index of the module BTF
  friend bool operator==(const Call&, const Call&) = default;
};

// callx: indirect call through a register (LLVM emits it; kernels reject it).
struct CallReg {
  Reg target;
  friend bool operator==(const CallReg&, const CallReg&) = default;
};

struct Exit {
  friend bool operator==(const Exit&, const Exit&) = default;
};

using Instruction = std::variant<Alu, AddrSpaceCast, Endian, LoadImm64, Load, Store, Atomic,
                                 PacketLoad, CondJump, Goto, LongGoto, MayGoto, Call, CallReg,
                                 Exit>;

// Number of 8-byte slots an instruction occupies (2 for ld_imm64).
inline std::size_t slot_count(const Instruction& insn) {
  return std::holds_alternative<LoadImm64>(insn) ? 2 : 1;
}

// An instruction together with its slot index in the program.
struct PlacedInstruction {
  std::size_t pc = 0;
  Instruction insn;
};

// Helper for std::visit with a set of lambdas.
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace bpfsign::isa
