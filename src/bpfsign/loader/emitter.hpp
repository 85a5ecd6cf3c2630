// Builds a BPF program one named instruction at a time, with forward jumps
// to labels resolved at the end. The loader generator speaks only through
// these helpers, so that each emitted sequence says what it does.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/isa/instruction.hpp"

namespace bpfsign::loader {

class Emitter {
 public:
  using Label = std::uint32_t;

  Label new_label();
  void bind(Label label);  // the label names the next instruction

  void emit(const isa::Instruction& insn);
  // if (reg OP value) goto label; the label must lie within a 16-bit offset.
  void jump_if(isa::JmpOp op, isa::Reg reg, isa::Operand value, Label label);
  // gotol label: a 32-bit offset, for jumps across large loaders (cpu v4).
  void jump_long(Label label);

  std::size_t slots() const { return slots_; }
  // The program with every jump resolved, or an error if a label was never
  // bound or a short jump does not reach.
  Result<std::vector<isa::Instruction>> finish() const;

 private:
  struct Fixup {
    std::size_t insn;  // index into insns_
    Label label;
  };
  std::vector<isa::Instruction> insns_;
  std::vector<std::size_t> slot_of_;  // first slot of each instruction
  std::vector<std::int64_t> label_slot_;  // -1 while unbound
  std::vector<Fixup> fixups_;
  std::size_t slots_ = 0;
};

}  // namespace bpfsign::loader
