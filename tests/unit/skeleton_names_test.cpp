// Names from an object reach a generated header as identifiers, comment
// text or string literals, never as code of the application.
#include <gtest/gtest.h>

#include "bpfsign/skeleton/cpp_skeleton.hpp"

namespace bpfsign::skeleton {
namespace {

TEST(SkeletonNames, AHostileNameCannotLeaveItsComment) {
  const std::string hostile = ".data.x */ __attribute__((constructor)) static void p(void){} /*\n// next line";
  const std::string c = comment_text(hostile);
  EXPECT_EQ(c.find("*/"), std::string::npos) << c;
  EXPECT_EQ(c.find('\n'), std::string::npos) << c;
}

TEST(SkeletonNames, AHostileNameIsNotCode) {
  EXPECT_EQ(code_name("total"), "total");
  EXPECT_EQ(code_name("__counter"), "__counter");
  const std::string n = code_name("a() const { return evil(); } int& b");
  for (char ch : n) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_') << n;
  EXPECT_EQ(identifier("9lives"), "x9lives");
}

}  // namespace
}  // namespace bpfsign::skeleton
