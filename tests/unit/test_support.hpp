// Helpers shared by the unit tests: corpus discovery, running tools.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "bpfsign/isa/instruction.hpp"

namespace bpfsign::test {

// Every *.bpf.o of the built corpus, sorted; empty when the corpus was not built.
std::vector<std::filesystem::path> corpus_objects();

struct CommandOutput {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs a shell command line, capturing stdout and stderr.
CommandOutput run_command(const std::string& command);

std::filesystem::path temp_dir();

std::vector<std::uint8_t> bytes_of(const std::vector<isa::RawInsn>& raws);

// 32-bit atomics other than plain add exist only in LLVM's alu32 syntax
// (llvm-objdump/llvm-mc --mattr=+alu32); docs/isa.md.
bool needs_alu32_syntax(const isa::Instruction& insn);

}  // namespace bpfsign::test
