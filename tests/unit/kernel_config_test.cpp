// .kconfig values encoded as libbpf encodes them, from a configuration text.
#include <gtest/gtest.h>

#include <cstring>

#include "bpfsign/load/kernel_config.hpp"

namespace bpfsign::load {
namespace {

using object::KconfigType;

const char* kConfig =
    "# comment\n"
    "CONFIG_BPF_SYSCALL=y\n"
    "CONFIG_SOME_MODULE=m\n"
    "# CONFIG_ABSENT is not set\n"
    "CONFIG_HZ=250\n"
    "CONFIG_BIG=0x100000000\n"
    "CONFIG_NEG=-5\n"
    "CONFIG_NAME=\"bpfsign\"\n";

TEST(KernelConfig, ParsesSetAndUnsetOptions) {
  const auto c = parse_kernel_config(kConfig);
  EXPECT_EQ(c.at("CONFIG_BPF_SYSCALL"), "y");
  EXPECT_EQ(c.at("CONFIG_ABSENT"), "n");
  EXPECT_EQ(c.at("CONFIG_NAME"), "\"bpfsign\"");
  EXPECT_EQ(c.count("comment"), 0u);
}

TEST(KernelConfig, EncodesEachTypeAtItsOffset) {
  const auto c = parse_kernel_config(kConfig);
  const std::vector<loader::KconfigValue> values = {
      {"CONFIG_BPF_SYSCALL", KconfigType::Bool, false, false, 0, 1},
      {"CONFIG_SOME_MODULE", KconfigType::Tristate, false, false, 4, 4},
      {"CONFIG_HZ", KconfigType::Int, true, false, 8, 4},
      {"CONFIG_BIG", KconfigType::Int, false, false, 16, 8},
      {"CONFIG_NEG", KconfigType::Int, true, false, 24, 4},
      {"CONFIG_NAME", KconfigType::CharArray, false, false, 28, 4},
      {"CONFIG_ABSENT", KconfigType::Char, false, false, 32, 1},
      {"CONFIG_MISSING", KconfigType::Int, false, true, 36, 4},
      {"LINUX_KERNEL_VERSION", KconfigType::Int, false, false, 40, 4},
  };
  auto out = encode_kconfig(values, c, "6.18.44-custom", 48);
  ASSERT_TRUE(out.ok()) << out.error().message;
  auto u32 = [&](std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, out->data() + off, 4);
    return v;
  };
  EXPECT_EQ((*out)[0], 1);
  EXPECT_EQ(u32(4), 2u);  // m
  EXPECT_EQ(u32(8), 250u);
  std::uint64_t big;
  std::memcpy(&big, out->data() + 16, 8);
  EXPECT_EQ(big, 0x100000000ull);
  EXPECT_EQ(static_cast<std::int32_t>(u32(24)), -5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out->data() + 28)), "bpf");  // truncated, NUL-terminated
  EXPECT_EQ((*out)[32], 'n');
  EXPECT_EQ(u32(36), 0u);  // weak and missing
  EXPECT_EQ(u32(40), (6u << 16) + (18u << 8) + 44u);
}

TEST(KernelConfig, RefusesMissingStrongValuesAndValuesThatDoNotFit) {
  const auto c = parse_kernel_config(kConfig);
  auto missing = encode_kconfig({{"CONFIG_MISSING", KconfigType::Int, false, false, 0, 4}}, c, "6.18.0", 8);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("CONFIG_MISSING"), std::string::npos);
  auto too_big = encode_kconfig({{"CONFIG_BIG", KconfigType::Int, false, false, 0, 4}}, c, "6.18.0", 8);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("does not fit"), std::string::npos);
  auto not_bool = encode_kconfig({{"CONFIG_HZ", KconfigType::Bool, false, false, 0, 1}}, c, "6.18.0", 8);
  ASSERT_FALSE(not_bool.ok());
}

}  // namespace
}  // namespace bpfsign::load
