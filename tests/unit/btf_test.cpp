// BTF and BTF.ext parsing on hand-built blobs: each rule of the format, and
// the sanitising rewrite on real objects.
#include <gtest/gtest.h>

#include <cstring>

#include "bpfsign/btf/btf.hpp"
#include "bpfsign/btf/btf_ext.hpp"
#include "bpfsign/btf/btf_sanitize.hpp"
#include "bpfsign/object/object_reader.hpp"
#include "test_support.hpp"

namespace bpfsign::btf {
namespace {

using namespace std::string_view_literals;

// Builds a BTF blob from type words and a string section.
std::vector<std::uint8_t> blob(const std::vector<std::uint32_t>& types, const std::string& strings) {
  std::vector<std::uint8_t> out(24 + types.size() * 4 + strings.size());
  const std::uint32_t hdr[6] = {0x0001eB9Fu | (0u << 24), 24, 0, static_cast<std::uint32_t>(types.size() * 4),
                                static_cast<std::uint32_t>(types.size() * 4), static_cast<std::uint32_t>(strings.size())};
  std::memcpy(out.data(), hdr, sizeof hdr);
  if (!types.empty()) std::memcpy(out.data() + 24, types.data(), types.size() * 4);
  std::memcpy(out.data() + 24 + types.size() * 4, strings.data(), strings.size());
  return out;
}

const std::string kStrings("\0int\0a\0", 7);  // "int" at 1, "a" at 5
const std::vector<std::uint32_t> kInt = {1, make_info(Kind::Int, 0, false), 4, 32};

void expect_refused(const std::vector<std::uint8_t>& b, const std::string& fragment) {
  auto r = Btf::parse(b);
  ASSERT_FALSE(r.ok()) << "accepted; expected " << fragment;
  EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
}

std::vector<std::uint32_t> cat(std::vector<std::uint32_t> a, const std::vector<std::uint32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(Btf, ParsesAndSerializesBackTheSameBytes) {
  const auto b = blob(cat(kInt, {5, make_info(Kind::Ptr, 0, false), 1}), kStrings);
  auto btf = Btf::parse(b);
  ASSERT_TRUE(btf.ok()) << btf.error().message;
  EXPECT_EQ(btf->type_count(), 2u);
  EXPECT_EQ(btf->name(1), "int");
  EXPECT_EQ(btf->kind(2), Kind::Ptr);
  EXPECT_EQ(*btf->resolve_size(2), 8u);
  EXPECT_EQ(btf->serialize(), b);
}

// Name comparison in place must mean exactly string_at(offset) == wanted,
// for every offset (inside a name, on a NUL, past the end) and for names
// that are prefixes or extensions of others.
TEST(Btf, StringIsAgreesWithStringAtEverywhere) {
  const std::string strings("\0int\0in\0a\0.data\0.data.x\0", 25);
  auto btf = Btf::parse(blob(kInt, strings));
  ASSERT_TRUE(btf.ok()) << btf.error().message;
  const std::string_view wanted[] = {"", "int", "in", "i", "nt", "a", ".data", ".data.x", ".dat", "int\0in"sv};
  for (std::uint32_t off = 0; off < strings.size() + 3; ++off) {
    for (std::string_view w : wanted) {
      EXPECT_EQ(btf->string_is(off, w), off < strings.size() && btf->string_at(off) == w) << "offset " << off << " '" << w << "'";
    }
  }
  EXPECT_EQ(btf->find_any("int"), 1u);
  EXPECT_EQ(btf->find("int", Kind::Int), 1u);
  EXPECT_FALSE(btf->find("int", Kind::Ptr));
  EXPECT_FALSE(btf->find_any("in"));
  EXPECT_FALSE(btf->find_any("int\0in"sv));
}

TEST(Btf, RefusesMalformedHeadersAndSections) {
  auto good = blob(kInt, kStrings);
  auto bad_magic = good;
  bad_magic[0] = 0;
  expect_refused(bad_magic, "magic");
  auto bad_version = good;
  bad_version[2] = 2;
  expect_refused(bad_version, "version 2");
  auto long_strings = good;
  long_strings[20] = 200;  // str_len past the end
  expect_refused(long_strings, "string section");
  expect_refused(std::vector<std::uint8_t>(good.begin(), good.begin() + 10), "need 24 bytes");
  expect_refused(blob(kInt, std::string("\0int", 4)), "NUL");
  auto cut_type = blob({1, make_info(Kind::Int, 0, false), 4}, kStrings);
  expect_refused(cut_type, "needs 16 bytes");
}

TEST(Btf, RefusesBadKindsOffsetsAndReferences) {
  expect_refused(blob({1, 20u << 24, 0}, kStrings), "unknown kind 20");
  expect_refused(blob({100, make_info(Kind::Int, 0, false), 4, 32}, kStrings), "name offset 100");
  expect_refused(blob({1, make_info(Kind::Int, 0, false), 4, 64}, kStrings), "invalid INT encoding");
  expect_refused(blob({0, make_info(Kind::Ptr, 0, false), 7}, kStrings), "refers to type [7]");
  expect_refused(blob(cat(kInt, {5, make_info(Kind::Func, 0, false), 1}), kStrings), "FUNC must refer to a FUNC_PROTO");
  expect_refused(blob({0, make_info(Kind::Ptr, 0, false) | 0x00ff0000u, 0}, kStrings), "reserved bits");
}

TEST(Btf, RefusesLoopsThatNoPointerBreaks) {
  // typedef a -> const -> typedef a
  expect_refused(blob({5, make_info(Kind::Typedef, 0, false), 2, 0, make_info(Kind::Const, 0, false), 1}, kStrings),
                 "reference loop");
  // struct a { struct a inner; }
  expect_refused(blob({5, make_info(Kind::Struct, 1, false), 4, 1, 1, 0}, kStrings), "reference loop");
  // array of itself
  expect_refused(blob(cat(kInt, {0, make_info(Kind::Array, 0, false), 0, 2, 1, 4}), kStrings), "reference loop");
  // struct a { struct a *next; } is fine
  auto ok = Btf::parse(blob({5, make_info(Kind::Struct, 1, false), 8, 1, 2, 0, 0, make_info(Kind::Ptr, 0, false), 1}, kStrings));
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST(Btf, LongChainsDoNotExhaustTheStack) {
  // 200k CONST types in a chain, then a loop back to the first.
  std::vector<std::uint32_t> words;
  const std::uint32_t n = 200000;
  for (std::uint32_t i = 1; i <= n; ++i) words.insert(words.end(), {0, make_info(Kind::Const, 0, false), i == n ? 1 : i + 1});
  expect_refused(blob(words, kStrings), "reference loop");
}

TEST(BtfExt, RefusesBadRecords) {
  auto btf = Btf::parse(blob(cat(kInt, {0, make_info(Kind::FuncProto, 0, false), 1, 5, make_info(Kind::Func, 1, false), 2}), kStrings));
  ASSERT_TRUE(btf.ok()) << btf.error().message;
  auto ext = [](std::vector<std::uint32_t> func_info) {
    std::vector<std::uint8_t> out(32 + func_info.size() * 4);
    const std::uint32_t hdr[8] = {0x0001eB9Fu, 32, 0, static_cast<std::uint32_t>(func_info.size() * 4), 0, 0, 0, 0};
    std::memcpy(out.data(), hdr, sizeof hdr);
    std::memcpy(out.data() + 32, func_info.data(), func_info.size() * 4);
    return out;
  };
  EXPECT_TRUE(BtfExt::parse(ext({8, 5, 1, 0, 3}), *btf).ok());
  auto refused = [&](std::vector<std::uint32_t> fi, const std::string& fragment) {
    auto r = BtfExt::parse(ext(std::move(fi)), *btf);
    ASSERT_FALSE(r.ok()) << fragment;
    EXPECT_NE(r.error().message.find(fragment), std::string::npos) << r.error().message;
  };
  refused({4, 5, 1, 0, 3}, "record size 4");
  refused({8, 5, 2, 0, 3}, "claims 2 records");
  refused({8, 5, 1, 0, 1}, "is not a FUNC");
  refused({8, 99, 1, 0, 3}, "section name offset 99");
}

TEST(BtfSanitize, RewritesEveryNewKindForAnOldKernel) {
  const auto objects = test::corpus_objects();
  if (objects.empty()) GTEST_SKIP() << "the BPF corpus was not built";
  auto m = object::read_object_file(objects.front().parent_path() / "global_data.bpf.o");
  ASSERT_TRUE(m.ok()) << m.error().message;
  Btf btf = *m->btf;
  EXPECT_EQ(sanitize_for_kernel(btf, KernelBtfFeatures{}), 0u) << "a current kernel needs no rewrite";
  const std::uint32_t rewritten = sanitize_for_kernel(btf, KernelBtfFeatures{false, false, false, false, false, false, false});
  EXPECT_GT(rewritten, 0u);
  for (std::uint32_t id = 1; id <= btf.type_count(); ++id) {
    const Kind k = btf.kind(id);
    EXPECT_TRUE(k != Kind::Var && k != Kind::Datasec && k != Kind::Func && k != Kind::FuncProto && k != Kind::Float &&
                k != Kind::DeclTag && k != Kind::TypeTag && k != Kind::Enum64)
        << "type " << id << " is still " << kind_name(k);
  }
  // The result is still well-formed BTF.
  auto again = Btf::parse(btf.serialize());
  EXPECT_TRUE(again.ok()) << again.error().message;
}

}  // namespace
}  // namespace bpfsign::btf
