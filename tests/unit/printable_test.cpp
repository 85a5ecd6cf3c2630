#include <gtest/gtest.h>

#include "bpfsign/common/printable.hpp"

namespace bpfsign {
namespace {

TEST(Printable, KeepsPrintableTextAndValidUtf8) {
  EXPECT_EQ(printable("maps_btf.bpf.o"), "maps_btf.bpf.o");
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d");
}

TEST(Printable, EscapesWhatCouldMoveTheCursorOrForgeALine) {
  EXPECT_EQ(printable("evil\n  [ ok ] injected"), "evil\\x0a  [ ok ] injected");
  EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(printable(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("\r\t\x7f"), "\\x0d\\x09\\x7f");
  EXPECT_EQ(printable("\xc2\x9b" "31m"), "\\xc2\\x9b31m");  // C1 CSI
  EXPECT_EQ(printable("back\\slash"), "back\\\\slash");
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
  EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");              // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");    // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");              // cut short
}

}  // namespace
}  // namespace bpfsign
