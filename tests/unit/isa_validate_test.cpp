// validate_program accepts most slots by a per-opcode field rule instead of
// decoding them. The rules must never accept what decode_one refuses, nor
// change an error: compared here over every opcode and a grid of field
// values that includes each boundary the decoder tests (register r10/r11,
// the offsets of signed and sign-extending forms, atomic and byte-swap
// immediates).
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "bpfsign/isa/decode.hpp"

namespace bpfsign::isa {
namespace {

TEST(IsaValidate, AgreesWithDecodeOneOnEveryOpcode) {
  const std::array<std::uint8_t, 4> dsts{0, 1, 10, 11};
  const std::array<std::uint8_t, 7> srcs{0, 1, 2, 4, 6, 10, 11};
  const std::array<std::int16_t, 6> offs{0, 1, -1, 8, 32, 0x7fff};
  const std::array<std::int32_t, 9> imms{0, 1, -1, 16, 64, kAtomicLoadAcquire, kAtomicXchg, kAtomicAdd | kAtomicFetch, 0x10000};
  std::size_t accepted = 0, refused = 0;
  for (unsigned code = 0; code < 256; ++code) {
    for (auto dst : dsts) {
      for (auto src : srcs) {
        for (auto off : offs) {
          for (auto imm : imms) {
            const RawInsn r{static_cast<std::uint8_t>(code), dst, src, off, imm};
            const auto decoded = decode_one(r, nullptr);
            const auto validated = validate_program(std::span<const RawInsn>(&r, 1));
            ASSERT_EQ(decoded.ok(), validated.ok())
                << "code 0x" << std::hex << code << std::dec << " dst " << int{dst} << " src " << int{src} << " off " << off
                << " imm " << imm;
            if (decoded) {
              ++accepted;
            } else {
              ++refused;
              EXPECT_NE(validated.error().message.find(decoded.error().message), std::string::npos) << validated.error().message;
            }
          }
        }
      }
    }
  }
  // The grid reaches both sides of the decoder for real.
  EXPECT_GT(accepted, 10000u);
  EXPECT_GT(refused, 10000u);
}

TEST(IsaValidate, TwoSlotLoadAndItsSecondSlot) {
  const RawInsn ld{static_cast<std::uint8_t>(kClassLd | kSizeDW | kModeImm), 1, 0, 0, 7};
  const RawInsn exit{static_cast<std::uint8_t>(kClassJmp | kJmpExit), 0, 0, 0, 0};
  RawInsn second{};
  second.imm = 9;
  const std::array<RawInsn, 3> ok{ld, second, exit};
  EXPECT_TRUE(validate_program(ok).ok());
  // The same second slot on its own is an invalid 32-bit immediate load.
  const std::array<RawInsn, 2> alone{exit, second};
  auto bad = validate_program(alone);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("instruction 1 (byte offset 8)"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace bpfsign::isa
