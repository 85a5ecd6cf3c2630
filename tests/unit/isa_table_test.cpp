// The opcode table, as data: each row is one raw encoding and either the
// text LLVM prints for it or the reason the decoder must refuse it. Valid
// rows also check that encoding the decoded instruction gives the same bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bpfsign/isa/decode.hpp"
#include "bpfsign/isa/disasm.hpp"
#include "bpfsign/isa/encode.hpp"

namespace bpfsign::isa {
namespace {

struct Row {
  std::uint8_t code;
  std::uint8_t dst, src;
  std::int16_t off;
  std::int32_t imm;
  const char* expect;     // disassembly, or the decoder's reason when `valid` is false
  bool valid = true;
  std::int32_t next_imm = 0;  // second slot of ld_imm64
};

const std::vector<Row> kValid = {
    // ALU64, immediate and register sources
    {0x07, 1, 0, 0, 4, "r1 += 0x4"},
    {0x07, 1, 0, 0, -4, "r1 += -0x4"},
    {0x0f, 1, 2, 0, 0, "r1 += r2"},
    {0x17, 1, 0, 0, 4, "r1 -= 0x4"},
    {0x2f, 1, 2, 0, 0, "r1 *= r2"},
    {0x37, 1, 0, 0, 4, "r1 /= 0x4"},
    {0x37, 1, 0, 1, 4, "r1 s/= 0x4"},
    {0x3f, 1, 2, 1, 0, "r1 s/= r2"},
    {0x47, 1, 0, 0, 4, "r1 |= 0x4"},
    {0x5f, 1, 2, 0, 0, "r1 &= r2"},
    {0x67, 1, 0, 0, 4, "r1 <<= 0x4"},
    {0x7f, 1, 2, 0, 0, "r1 >>= r2"},
    {0x87, 1, 0, 0, 0, "r1 = -r1"},
    {0x97, 1, 0, 0, 4, "r1 %= 0x4"},
    {0x9f, 1, 2, 1, 0, "r1 s%= r2"},
    {0xa7, 1, 0, 0, 4, "r1 ^= 0x4"},
    {0xb7, 1, 0, 0, 4, "r1 = 0x4"},
    {0xb7, 1, 0, 0, INT32_MIN, "r1 = -0x80000000"},
    {0xbf, 1, 2, 0, 0, "r1 = r2"},
    {0xbf, 1, 2, 8, 0, "r1 = (s8)r2"},
    {0xbf, 1, 2, 16, 0, "r1 = (s16)r2"},
    {0xbf, 1, 2, 32, 0, "r1 = (s32)r2"},
    {0xbf, 1, 2, 1, 0x10000, "r1 = addr_space_cast(r2, 0x1, 0x0)"},
    {0xc7, 1, 0, 0, 4, "r1 s>>= 0x4"},
    {0xcf, 1, 2, 0, 0, "r1 s>>= r2"},
    // ALU32
    {0x04, 1, 0, 0, 4, "w1 += 0x4"},
    {0x0c, 1, 2, 0, 0, "w1 += w2"},
    {0x34, 1, 0, 1, 3, "w1 s/= 0x3"},
    {0x84, 1, 0, 0, 0, "w1 = -w1"},
    {0x94, 1, 0, 1, 5, "w1 s%= 0x5"},
    {0xb4, 1, 0, 0, -1, "w1 = -0x1"},
    {0xbc, 1, 2, 0, 0, "w1 = w2"},
    {0xbc, 1, 2, 8, 0, "w1 = (s8)w2"},
    {0xbc, 1, 2, 16, 0, "w1 = (s16)w2"},
    // byte order
    {0xd4, 1, 0, 0, 16, "r1 = le16 r1"},
    {0xd4, 1, 0, 0, 64, "r1 = le64 r1"},
    {0xdc, 1, 0, 0, 32, "r1 = be32 r1"},
    {0xd7, 1, 0, 0, 16, "r1 = bswap16 r1"},
    {0xd7, 1, 0, 0, 64, "r1 = bswap64 r1"},
    // ld_imm64
    {0x18, 1, 0, 0, 4, "r1 = 0x500000004 ll", true, 5},
    {0x18, 1, 0, 0, -4, "r1 = -0x4 ll", true, -1},
    {0x18, 1, 1, 0, 4, "r1 = map_fd(0x4) ll"},
    {0x18, 1, 2, 0, 4, "r1 = map_value(0x4) + 0x8 ll", true, 8},
    {0x18, 1, 3, 0, 77, "r1 = btf_id(0x4d) ll"},
    {0x18, 1, 4, 0, 3, "r1 = func(+0x3) ll"},
    {0x18, 1, 5, 0, 0, "r1 = map_idx(0x0) ll"},
    {0x18, 1, 6, 0, 1, "r1 = map_idx_value(0x1) + 0x10 ll", true, 16},
    // loads and stores
    {0x61, 1, 2, -3, 0, "r1 = *(u32 *)(r2 - 0x3)"},
    {0x69, 1, 2, 0, 0, "r1 = *(u16 *)(r2 + 0x0)"},
    {0x71, 1, 2, 7, 0, "r1 = *(u8 *)(r2 + 0x7)"},
    {0x79, 1, 10, -8, 0, "r1 = *(u64 *)(r10 - 0x8)"},
    {0x81, 1, 2, -32768, 0, "r1 = *(s32 *)(r2 - 0x8000)"},
    {0x89, 1, 2, 0, 0, "r1 = *(s16 *)(r2 + 0x0)"},
    {0x91, 1, 2, 0, 0, "r1 = *(s8 *)(r2 + 0x0)"},
    {0x62, 1, 0, -3, -1, "*(u32 *)(r1 - 0x3) = -0x1"},
    {0x7a, 10, 0, -8, 0, "*(u64 *)(r10 - 0x8) = 0x0"},
    {0x63, 1, 2, -3, 0, "*(u32 *)(r1 - 0x3) = r2"},
    {0x7b, 10, 1, -16, 0, "*(u64 *)(r10 - 0x10) = r1"},
    {0x20, 0, 0, 0, 4, "r0 = *(u32 *)skb[0x4]"},
    {0x30, 0, 0, 0, 12, "r0 = *(u8 *)skb[0xc]"},
    {0x48, 0, 7, 0, 0, "r0 = *(u16 *)skb[r7]"},
    // atomics
    {0xdb, 1, 2, -3, 0x00, "lock *(u64 *)(r1 - 0x3) += r2"},
    {0xdb, 1, 2, -3, 0x01, "r2 = atomic_fetch_add((u64 *)(r1 - 0x3), r2)"},
    {0xdb, 1, 2, -3, 0x40, "lock *(u64 *)(r1 - 0x3) |= r2"},
    {0xdb, 1, 2, -3, 0x51, "r2 = atomic_fetch_and((u64 *)(r1 - 0x3), r2)"},
    {0xdb, 1, 2, -3, 0xa0, "lock *(u64 *)(r1 - 0x3) ^= r2"},
    {0xdb, 1, 2, -3, 0xe1, "r2 = xchg_64(r1 - 0x3, r2)"},
    {0xdb, 1, 2, -3, 0xf1, "r0 = cmpxchg_64(r1 - 0x3, r0, r2)"},
    {0xc3, 1, 2, -3, 0x00, "lock *(u32 *)(r1 - 0x3) += r2"},
    {0xc3, 1, 2, -3, 0x01, "w2 = atomic_fetch_add((u32 *)(r1 - 0x3), w2)"},
    {0xc3, 1, 2, -3, 0x40, "lock *(u32 *)(r1 - 0x3) |= w2"},
    {0xc3, 1, 2, -3, 0xa1, "w2 = atomic_fetch_xor((u32 *)(r1 - 0x3), w2)"},
    {0xc3, 1, 2, -3, 0xe1, "w2 = xchg32_32(r1 - 0x3, w2)"},
    {0xc3, 1, 2, -3, 0xf1, "w0 = cmpxchg32_32(r1 - 0x3, w0, w2)"},
    {0xdb, 0, 1, 0, 0x100, "r0 = load_acquire((u64 *)(r1 + 0x0))"},
    {0xd3, 0, 1, 4, 0x100, "w0 = load_acquire((u8 *)(r1 + 0x4))"},
    {0xcb, 1, 2, 0, 0x110, "store_release((u16 *)(r1 + 0x0), w2)"},
    // jumps
    {0x05, 0, 0, 3, 0, "goto +0x3"},
    {0x05, 0, 0, -1, 0, "goto -0x1"},
    {0x06, 0, 0, 0, -5, "gotol -0x5"},
    {0x15, 1, 0, 5, 7, "if r1 == 0x7 goto +0x5"},
    {0x1d, 1, 2, 5, 0, "if r1 == r2 goto +0x5"},
    {0x25, 1, 0, 5, 7, "if r1 > 0x7 goto +0x5"},
    {0x3d, 1, 2, 5, 0, "if r1 >= r2 goto +0x5"},
    {0x45, 1, 0, 5, 7, "if r1 & 0x7 goto +0x5"},
    {0x5d, 1, 2, 5, 0, "if r1 != r2 goto +0x5"},
    {0x65, 1, 0, 5, 7, "if r1 s> 0x7 goto +0x5"},
    {0x7d, 1, 2, 5, 0, "if r1 s>= r2 goto +0x5"},
    {0xa5, 1, 0, 5, 7, "if r1 < 0x7 goto +0x5"},
    {0xbd, 1, 2, 5, 0, "if r1 <= r2 goto +0x5"},
    {0xc5, 1, 0, 5, 7, "if r1 s< 0x7 goto +0x5"},
    {0xdd, 1, 2, 5, 0, "if r1 s<= r2 goto +0x5"},
    {0x16, 1, 0, 5, -1, "if w1 == -0x1 goto +0x5"},
    {0xae, 1, 2, -2, 0, "if w1 < w2 goto -0x2"},
    {0xe5, 0, 0, 5, 0, "may_goto +0x5"},
    {0x85, 0, 0, 0, 1, "call 0x1"},
    {0x85, 0, 1, 0, -1, "call -0x1"},
    {0x85, 0, 2, 0, 100, "call 0x64"},
    {0x85, 0, 2, 3, 100, "call 0x64"},
    {0x8d, 5, 0, 0, 0, "callx r5"},
    {0x95, 0, 0, 0, 0, "exit"},
};

const std::vector<Row> kInvalid = {
    {0xff, 0, 0, 0, 0, "unknown ALU operation", false},  // class ALU64, op 0xf0
    {0xe4, 1, 0, 0, 0, "unknown ALU operation", false},
    {0x07, 11, 0, 0, 0, "destination register out of range", false},
    {0x0f, 1, 11, 0, 0, "source register out of range", false},
    {0x07, 1, 2, 0, 4, "reserved source register", false},
    {0x0f, 1, 2, 0, 4, "reserved imm", false},
    {0x07, 1, 0, 3, 4, "reserved offset", false},
    {0x37, 1, 0, 2, 4, "reserved offset", false},
    {0x87, 1, 0, 0, 1, "neg uses reserved fields", false},
    {0xbf, 1, 2, 4, 0, "move offset must be", false},
    {0xbc, 1, 2, 32, 0, "cannot sign-extend from 32", false},
    {0xd4, 1, 0, 0, 8, "width must be 16, 32 or 64", false},
    {0xdf, 1, 0, 0, 16, "no big-endian form", false},
    {0x10, 1, 0, 0, 0, "must be 64-bit", false},
    {0x18, 1, 7, 0, 0, "unknown pseudo source", false},
    {0x18, 1, 0, 1, 0, "reserved offset", false},
    {0x38, 0, 0, 0, 0, "packet load cannot be 64-bit", false},
    {0x20, 1, 0, 0, 0, "packet load uses reserved fields", false},
    {0x20, 0, 3, 0, 0, "absolute packet load uses reserved source", false},
    {0x61, 1, 2, 0, 1, "load uses reserved imm", false},
    {0x99, 1, 2, 0, 0, "sign-extending load cannot be 64-bit", false},
    {0xa1, 1, 2, 0, 0, "unknown load mode", false},
    {0x62, 1, 2, 0, 0, "immediate store uses reserved source", false},
    {0x63, 1, 2, 0, 1, "register store uses reserved imm", false},
    {0xd3, 1, 2, 0, 0x01, "must be 32 or 64-bit", false},
    {0xdb, 1, 2, 0, 0x02, "unknown atomic operation", false},
    {0x05, 0, 0, 0, 1, "goto uses reserved imm", false},
    {0x06, 0, 0, 1, 0, "gotol uses reserved offset", false},
    {0x85, 1, 0, 0, 0, "reserved destination register", false},
    {0x85, 0, 3, 0, 0, "unknown kind", false},
    {0x85, 0, 0, 1, 0, "call uses reserved offset", false},
    {0x86, 0, 0, 0, 0, "not a 32-bit jump", false},
    {0x95, 0, 0, 0, 1, "exit uses reserved fields", false},
    {0xe5, 0, 0, 0, 1, "may_goto uses reserved fields", false},
    {0xe6, 0, 0, 0, 0, "only a 64-bit immediate form", false},
    {0x15, 1, 2, 0, 0, "reserved source register", false},
    {0x1d, 1, 2, 0, 3, "reserved imm", false},
    {0xf5, 1, 0, 0, 0, "unknown jump operation", false},
};

std::string describe(const Row& r) {
  return fmt::format("code 0x{:02x} dst {} src {} off {} imm {}", r.code, r.dst, r.src, r.off, r.imm);
}

TEST(IsaTable, ValidEncodingsDecodePrintAndRoundTrip) {
  for (const Row& row : kValid) {
    SCOPED_TRACE(describe(row));
    RawInsn first{row.code, row.dst, row.src, row.off, row.imm};
    RawInsn second{0, 0, 0, 0, row.next_imm};
    auto insn = decode_one(first, &second);
    ASSERT_TRUE(insn.ok()) << insn.error().message;
    EXPECT_EQ(to_string(*insn), row.expect);
    std::vector<RawInsn> raws;
    encode(*insn, raws);
    ASSERT_EQ(raws.size(), slot_count(*insn));
    EXPECT_EQ(raws[0], first);
    if (raws.size() == 2) {
      EXPECT_EQ(raws[1], second);
    }
  }
}

TEST(IsaTable, InvalidEncodingsAreRefusedWithAReason) {
  for (const Row& row : kInvalid) {
    SCOPED_TRACE(describe(row));
    RawInsn first{row.code, row.dst, row.src, row.off, row.imm};
    RawInsn second{};
    auto insn = decode_one(first, &second);
    ASSERT_FALSE(insn.ok()) << "decoded as " << to_string(*insn);
    EXPECT_NE(insn.error().message.find(row.expect), std::string::npos) << insn.error().message;
  }
}

TEST(IsaTable, LdImm64SecondSlotMustBeEmpty) {
  RawInsn first{0x18, 1, 0, 0, 1};
  for (RawInsn second : {RawInsn{0x07, 0, 0, 0, 0}, RawInsn{0, 1, 0, 0, 0}, RawInsn{0, 0, 1, 0, 0},
                         RawInsn{0, 0, 0, 1, 0}}) {
    auto insn = decode_one(first, &second);
    ASSERT_FALSE(insn.ok());
    EXPECT_NE(insn.error().message.find("second slot"), std::string::npos);
  }
  auto missing = decode_one(first, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("missing its second slot"), std::string::npos);
}

}  // namespace
}  // namespace bpfsign::isa
