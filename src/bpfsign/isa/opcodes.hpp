// BPF instruction encoding constants (Linux Documentation/bpf/standardization/
// instruction-set.rst and the kernel's uapi). Defined here rather than taken
// from <linux/bpf.h>: Debian 12's headers predate may_goto, load-acquire and
// the 6.18 fields, and the ISA is ours to model exactly.
#pragma once

#include <cstdint>

namespace bpfsign::isa {

// Instruction classes (low 3 bits of the opcode).
inline constexpr std::uint8_t kClassLd = 0x00;
inline constexpr std::uint8_t kClassLdx = 0x01;
inline constexpr std::uint8_t kClassSt = 0x02;
inline constexpr std::uint8_t kClassStx = 0x03;
inline constexpr std::uint8_t kClassAlu = 0x04;
inline constexpr std::uint8_t kClassJmp = 0x05;
inline constexpr std::uint8_t kClassJmp32 = 0x06;
inline constexpr std::uint8_t kClassAlu64 = 0x07;

inline constexpr std::uint8_t class_of(std::uint8_t code) { return code & 0x07; }

// Load/store: size (bits 3-4) and mode (bits 5-7).
inline constexpr std::uint8_t kSizeW = 0x00;
inline constexpr std::uint8_t kSizeH = 0x08;
inline constexpr std::uint8_t kSizeB = 0x10;
inline constexpr std::uint8_t kSizeDW = 0x18;
inline constexpr std::uint8_t kModeImm = 0x00;
inline constexpr std::uint8_t kModeAbs = 0x20;
inline constexpr std::uint8_t kModeInd = 0x40;
inline constexpr std::uint8_t kModeMem = 0x60;
inline constexpr std::uint8_t kModeMemSx = 0x80;
inline constexpr std::uint8_t kModeAtomic = 0xc0;

inline constexpr std::uint8_t size_of(std::uint8_t code) { return code & 0x18; }
inline constexpr std::uint8_t mode_of(std::uint8_t code) { return code & 0xe0; }

// ALU and jump: source bit (bit 3) and operation (bits 4-7).
inline constexpr std::uint8_t kSrcK = 0x00;
inline constexpr std::uint8_t kSrcX = 0x08;
inline constexpr std::uint8_t src_bit_of(std::uint8_t code) { return code & 0x08; }
inline constexpr std::uint8_t op_of(std::uint8_t code) { return code & 0xf0; }

inline constexpr std::uint8_t kAluAdd = 0x00;
inline constexpr std::uint8_t kAluSub = 0x10;
inline constexpr std::uint8_t kAluMul = 0x20;
inline constexpr std::uint8_t kAluDiv = 0x30;
inline constexpr std::uint8_t kAluOr = 0x40;
inline constexpr std::uint8_t kAluAnd = 0x50;
inline constexpr std::uint8_t kAluLsh = 0x60;
inline constexpr std::uint8_t kAluRsh = 0x70;
inline constexpr std::uint8_t kAluNeg = 0x80;
inline constexpr std::uint8_t kAluMod = 0x90;
inline constexpr std::uint8_t kAluXor = 0xa0;
inline constexpr std::uint8_t kAluMov = 0xb0;
inline constexpr std::uint8_t kAluArsh = 0xc0;
inline constexpr std::uint8_t kAluEnd = 0xd0;

inline constexpr std::uint8_t kJmpJa = 0x00;
inline constexpr std::uint8_t kJmpJeq = 0x10;
inline constexpr std::uint8_t kJmpJgt = 0x20;
inline constexpr std::uint8_t kJmpJge = 0x30;
inline constexpr std::uint8_t kJmpJset = 0x40;
inline constexpr std::uint8_t kJmpJne = 0x50;
inline constexpr std::uint8_t kJmpJsgt = 0x60;
inline constexpr std::uint8_t kJmpJsge = 0x70;
inline constexpr std::uint8_t kJmpCall = 0x80;
inline constexpr std::uint8_t kJmpExit = 0x90;
inline constexpr std::uint8_t kJmpJlt = 0xa0;
inline constexpr std::uint8_t kJmpJle = 0xb0;
inline constexpr std::uint8_t kJmpJslt = 0xc0;
inline constexpr std::uint8_t kJmpJsle = 0xd0;
inline constexpr std::uint8_t kJmpJcond = 0xe0;  // may_goto (kernel 6.9)

// The offset field of signed div/mod, movsx and addr_space_cast.
inline constexpr std::int16_t kOffSigned = 1;
inline constexpr std::int16_t kOffAddrSpaceCast = 1;

// Atomic operations (imm of BPF_STX | BPF_ATOMIC).
inline constexpr std::int32_t kAtomicFetch = 0x01;
inline constexpr std::int32_t kAtomicAdd = 0x00;
inline constexpr std::int32_t kAtomicOr = 0x40;
inline constexpr std::int32_t kAtomicAnd = 0x50;
inline constexpr std::int32_t kAtomicXor = 0xa0;
inline constexpr std::int32_t kAtomicXchg = 0xe0 | kAtomicFetch;
inline constexpr std::int32_t kAtomicCmpXchg = 0xf0 | kAtomicFetch;
inline constexpr std::int32_t kAtomicLoadAcquire = 0x100;   // kernel 6.15
inline constexpr std::int32_t kAtomicStoreRelease = 0x110;  // kernel 6.15

// src_reg of ld_imm64: what the 64-bit immediate refers to.
enum class PseudoSrc : std::uint8_t {
  Imm = 0,          // a plain 64-bit constant
  MapFd = 1,        // imm = map fd
  MapValue = 2,     // imm = map fd, next imm = offset into the value
  BtfId = 3,        // imm = BTF id of a kernel variable (ksym)
  Func = 4,         // imm = instruction offset of a callback subprogram
  MapIdx = 5,       // imm = index into fd_array
  MapIdxValue = 6,  // imm = index into fd_array, next imm = value offset
};
inline constexpr std::uint8_t kMaxPseudoSrc = 6;

// src_reg of BPF_CALL.
enum class CallKind : std::uint8_t {
  Helper = 0,  // imm = helper id
  Local = 1,   // imm = relative offset of a BPF-to-BPF call (BPF_PSEUDO_CALL)
  Kfunc = 2,   // imm = kfunc BTF id, off = fd_array index of the module BTF
};

inline constexpr std::uint8_t kMaxReg = 10;      // r10 is the frame pointer
inline constexpr std::size_t kInsnSize = 8;      // bytes per instruction slot

}  // namespace bpfsign::isa
