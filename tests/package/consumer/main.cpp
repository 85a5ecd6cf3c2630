// Uses the installed library: decode one instruction and print it.
#include <cstdio>
#include <string>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/version.hpp"

int main() {
  const bpfsign::isa::RawInsn exit_insn{0x95, 0, 0, 0, 0};
  auto insn = bpfsign::isa::decode_one(exit_insn, nullptr);
  if (!insn.ok() || bpfsign::isa::to_string(*insn) != "exit") return 1;
  std::printf("bpfsign %s: ok\n", bpfsign::kVersion);
  return 0;
}
