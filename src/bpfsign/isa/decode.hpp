// Raw bytes -> typed instructions. The decoder accepts exactly the encodings
// the kernel accepts at the encoding level (reserved fields zero, registers
// r0-r10, known opcodes), so every decoded instruction encodes back to the
// same bytes. Verifier semantics (types, bounds) are not checked here.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"
#include "bpfsign/isa/instruction.hpp"

namespace bpfsign::isa {

// One 8-byte slot as the kernel lays it out (little-endian: dst in the low
// nibble of byte 1). Inline: readers call it for every slot of an object.
inline RawInsn raw_from_bytes(const std::uint8_t* slot) {
  RawInsn r{};
  r.code = slot[0];
  r.dst = slot[1] & 0x0f;
  r.src = static_cast<std::uint8_t>(slot[1] >> 4);
  std::memcpy(&r.off, slot + 2, sizeof r.off);
  std::memcpy(&r.imm, slot + 4, sizeof r.imm);
  return r;
}

// Decodes the instruction starting with `first`. `second` is the following
// slot, or nullptr when `first` is the last slot; it is only read for ld_imm64.
Result<Instruction> decode_one(const RawInsn& first, const RawInsn* second);

// Decodes a whole instruction stream (e.g. an ELF program section), or only
// its first `max_insns` instructions (a reader that needs just a prologue).
Result<std::vector<PlacedInstruction>> decode_program(Bytes bytes, std::size_t max_insns = SIZE_MAX);

// The checks of decode_program without building the typed instructions.
Status validate_program(std::span<const RawInsn> insns);

}  // namespace bpfsign::isa
