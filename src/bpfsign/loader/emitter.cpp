#include "bpfsign/loader/emitter.hpp"

#include <limits>

namespace bpfsign::loader {

Emitter::Label Emitter::new_label() {
  label_slot_.push_back(-1);
  return static_cast<Label>(label_slot_.size() - 1);
}

void Emitter::bind(Label label) { label_slot_.at(label) = static_cast<std::int64_t>(slots_); }

void Emitter::emit(const isa::Instruction& insn) {
  insns_.push_back(insn);
  slot_of_.push_back(slots_);
  slots_ += isa::slot_count(insn);
}

void Emitter::jump_if(isa::JmpOp op, isa::Reg reg, isa::Operand value, Label label) {
  fixups_.push_back({insns_.size(), label});
  emit(isa::CondJump{op, false, reg, value, 0});
}

void Emitter::jump_long(Label label) {
  fixups_.push_back({insns_.size(), label});
  emit(isa::LongGoto{0});
}

Result<std::vector<isa::Instruction>> Emitter::finish() const {
  std::vector<isa::Instruction> out = insns_;
  for (const Fixup& f : fixups_) {
    const std::int64_t target = label_slot_.at(f.label);
    if (target < 0) return Error{ErrorKind::Internal, fmt::format("loader label {} was never placed", f.label)};
    const std::int64_t off = target - static_cast<std::int64_t>(slot_of_[f.insn]) - 1;
    if (auto* j = std::get_if<isa::CondJump>(&out[f.insn])) {
      if (off < std::numeric_limits<std::int16_t>::min() || off > std::numeric_limits<std::int16_t>::max()) {
        return Error{ErrorKind::Internal, fmt::format("loader jump at slot {} cannot reach {} slots", slot_of_[f.insn], off)};
      }
      j->off = static_cast<std::int16_t>(off);
    } else if (auto* g = std::get_if<isa::LongGoto>(&out[f.insn])) {
      g->off = static_cast<std::int32_t>(off);
    }
  }
  return out;
}

}  // namespace bpfsign::loader
