// .kconfig values encoded as libbpf encodes them, from a configuration text.
#include <gtest/gtest.h>

#include <cstring>

#include "bpfsign/load/builtin_externs.hpp"
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

KconfigSources sources_with(const char* config_text) {
  KconfigSources s;
  s.config = parse_kernel_config(config_text);
  s.kernel_version = (6u << 16) + (18u << 8) + 44u;
  return s;
}

TEST(KernelConfig, EncodesEachTypeAtItsOffset) {
  const auto c = sources_with(kConfig);
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
  auto out = encode_kconfig(values, c, 48);
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
  const auto c = sources_with(kConfig);
  auto missing = encode_kconfig({{"CONFIG_MISSING", KconfigType::Int, false, false, 0, 4}}, c, 8);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("CONFIG_MISSING"), std::string::npos);
  auto too_big = encode_kconfig({{"CONFIG_BIG", KconfigType::Int, false, false, 0, 4}}, c, 8);
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message.find("does not fit"), std::string::npos);
  auto not_bool = encode_kconfig({{"CONFIG_HZ", KconfigType::Bool, false, false, 0, 1}}, c, 8);
  ASSERT_FALSE(not_bool.ok());
}

// libbpf's built-in externs come from the running kernel, not the
// configuration: no configuration is needed for them, and weak unknown
// LINUX_ names default to 0 as in libbpf.
TEST(KernelConfig, BuiltinExternsNeedNoConfiguration) {
  KconfigSources s;  // no configuration read
  s.kernel_version = (7u << 16) + (3u << 8) + 4u;
  s.has_bpf_cookie = true;
  s.has_syscall_wrapper = true;
  const std::vector<loader::KconfigValue> values = {
      {"LINUX_KERNEL_VERSION", KconfigType::Int, false, false, 0, 4},
      {"LINUX_HAS_BPF_COOKIE", KconfigType::Bool, false, false, 4, 1},
      {"LINUX_HAS_SYSCALL_WRAPPER", KconfigType::Bool, false, false, 5, 1},
      {"LINUX_SOMETHING_NEW", KconfigType::Int, false, true, 8, 4},
  };
  auto out = encode_kconfig(values, s, 16);
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::uint32_t version = 0;
  std::memcpy(&version, out->data(), 4);
  EXPECT_EQ(version, 0x070304u);
  EXPECT_EQ((*out)[4], 1);
  EXPECT_EQ((*out)[5], 1);
  EXPECT_EQ((*out)[8], 0);
  s.has_bpf_cookie = false;
  EXPECT_EQ((*encode_kconfig(values, s, 16))[4], 0);
  // A strong unknown LINUX_ name is libbpf's "unrecognized virtual extern".
  auto strong = encode_kconfig({{"LINUX_SOMETHING_NEW", KconfigType::Int, false, false, 0, 4}}, s, 8);
  ASSERT_FALSE(strong.ok());
  EXPECT_NE(strong.error().message.find("LINUX_SOMETHING_NEW"), std::string::npos);
  // A CONFIG_ value needs the configuration.
  auto config = encode_kconfig({{"CONFIG_HZ", KconfigType::Int, false, true, 0, 4}}, s, 8);
  ASSERT_FALSE(config.ok());
  // A bool can hold only 0 or 1; a version does not fit one byte.
  auto version_in_char = encode_kconfig({{"LINUX_KERNEL_VERSION", KconfigType::Char, false, false, 0, 1}}, s, 8);
  EXPECT_FALSE(version_in_char.ok());
}

// LINUX_KERNEL_VERSION as libbpf computes it: Ubuntu's version signature,
// then the "Debian a.b.c" of uname's version, then the release.
TEST(KernelConfig, KernelVersionFollowsLibbpfSources) {
  EXPECT_EQ(kernel_version_code("", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)", "6.1.0-26-amd64"), (6u << 16) + (1u << 8) + 112u);
  EXPECT_EQ(kernel_version_code("Ubuntu 6.8.0-40.40-generic 6.8.12", "#40-Ubuntu SMP", "6.8.0-40-generic"), (6u << 16) + (8u << 8) + 12u);
  EXPECT_EQ(kernel_version_code("", "#1 SMP", "7.3.4+deb13-cloud-amd64"), (7u << 16) + (3u << 8) + 4u);
  EXPECT_EQ(kernel_version_code("", "#1 SMP", "5.4.300"), (5u << 16) + (4u << 8) + 255u);  // the patch level is capped
  EXPECT_EQ(kernel_version_code("", "", "garbage"), 0u);
  EXPECT_EQ(kernel_version_code("Ubuntu", "Debian x", "6.18"), 0u);
}

}  // namespace
}  // namespace bpfsign::load
