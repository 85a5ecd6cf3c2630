// Typed instructions -> text, in LLVM's BPF assembly syntax as
// `llvm-objdump-19 -d` prints it, so that our listing and LLVM's can be
// compared line by line (tests/unit/isa_llvm_test.cpp). Where LLVM has no
// syntax, or a lossy one, we print a readable form; docs/isa.md lists them.
#pragma once

#include <string>
#include <vector>

#include "bpfsign/isa/instruction.hpp"

namespace bpfsign::isa {

std::string to_string(const Instruction& insn);
// The comparison a conditional jump makes, as LLVM writes it ("s<", "==").
const char* jmp_symbol(JmpOp op);

// One line per instruction: "  <pc>:\t<text>".
std::string disassemble(const std::vector<PlacedInstruction>& program);

}  // namespace bpfsign::isa
