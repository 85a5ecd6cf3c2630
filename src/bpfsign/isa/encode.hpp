// Typed instructions -> raw bytes; the inverse of decode.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfsign/isa/instruction.hpp"

namespace bpfsign::isa {

// Appends the one or two raw slots of `insn` to `out`.
void encode(const Instruction& insn, std::vector<RawInsn>& out);

void raw_to_bytes(const RawInsn& raw, std::uint8_t* slot);

// Encodes a whole program to its byte form.
std::vector<std::uint8_t> encode_program(const std::vector<Instruction>& program);

}  // namespace bpfsign::isa
