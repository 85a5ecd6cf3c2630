// Any byte string: decoding never crashes, and whatever decodes encodes back
// to exactly the same bytes and prints without failing.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/isa/encode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::size_t whole = size - size % bpfsign::isa::kInsnSize;
  auto program = bpfsign::isa::decode_program({data, whole});
  if (!program) return 0;
  std::vector<bpfsign::isa::Instruction> insns;
  for (const auto& p : *program) {
    insns.push_back(p.insn);
    (void)bpfsign::isa::to_string(p.insn);
  }
  auto bytes = bpfsign::isa::encode_program(insns);
  if (bytes.size() != whole) std::abort();
  if (whole != 0 && std::memcmp(bytes.data(), data, whole) != 0) std::abort();
  return 0;
}
