#include "services/common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace sheetsync {
namespace {

TEST(Utf8Test, SequenceLengths) {
  EXPECT_EQ(Utf8SequenceLength(""), 0u);
  EXPECT_EQ(Utf8SequenceLength("a"), 1u);
  EXPECT_EQ(Utf8SequenceLength("\xc3\xa9x"), 2u);           // é
  EXPECT_EQ(Utf8SequenceLength("\xe2\x82\xac"), 3u);        // €
  EXPECT_EQ(Utf8SequenceLength("\xf0\x9f\x98\x80"), 4u);    // 😀
  EXPECT_EQ(Utf8SequenceLength(std::string("\0", 1)), 1u);  // NUL is UTF-8
}

TEST(Utf8Test, RejectsMalformedSequences) {
  for (const char* bad : {"\xff", "\xc3", "\xc3(", "\xc0\xaf",  // overlong '/'
                          "\xed\xa0\x80",                       // surrogate
                          "\xf4\x90\x80\x80",                   // > U+10FFFF
                          "\x80", "\xe2\x82"}) {
    EXPECT_EQ(Utf8SequenceLength(bad), 0u) << bad;
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
  EXPECT_TRUE(IsValidUtf8("h\xc3\xa9llo \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("h\xc3\xa9llo \xff"));
}

}  // namespace
}  // namespace sheetsync
