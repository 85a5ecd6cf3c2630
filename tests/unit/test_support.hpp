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

}  // namespace bpfsign::test
