#include "gateway/json_syntax.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync::gateway {
namespace {

using ::testing::HasSubstr;

constexpr int kDepth = 32;

TEST(JsonSyntaxTest, AcceptsRfc8259) {
  for (const char* ok :
       {"{}", " \n\t{\"a\":[1,-0.5e+3,2E-2,0,true,false,null,\"x\"]}\r\n", "[]",
        "\"s\"", "0", "-1", "{\"a\":{\"b\":[[],{}]}}",
        "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"",
        "\"h\xc3\xa9llo\"", "1e400"}) {
    EXPECT_TRUE(CheckJsonSyntax(ok, kDepth).ok()) << ok;
  }
}

TEST(JsonSyntaxTest, RefusesWhatProtobufWouldLetThrough) {
  for (const char* bad : {"{'table':'users'}",
                          "{table:\"users\"}",
                          "{\"a\":1,}",
                          "[1,]",
                          "{\"a\":\"x\ty\"}",
                          "[NaN]",
                          "[Infinity]",
                          "[01]",
                          "[+1]",
                          "[0x10]",
                          "[1.]",
                          "[.5]",
                          "[1e]",
                          "{\"a\":1}/*c*/",
                          "{\"a\":1} x",
                          "",
                          "\xef\xbb\xbf{}",
                          "[\"\\x\"]",
                          "[\"\\ud800\"]",
                          "[\"\\udc00\"]",
                          "[\"\\ud800\\u0041\"]",
                          "[\"\\u12\"]",
                          "[tru]",
                          "{\"a\" 1}",
                          "{\"a\":}",
                          "[\"\xff\"]",
                          "[\"\xc3\"]",
                          "{\"a\":1",
                          "[\"abc"}) {
    absl::Status status = CheckJsonSyntax(bad, kDepth);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(status.message()), HasSubstr("not JSON")) << bad;
  }
  EXPECT_FALSE(CheckJsonSyntax(std::string("[\"a\0b\"]", 7), kDepth).ok());
  EXPECT_FALSE(CheckJsonSyntax(std::string("{}\0", 3), kDepth).ok());
}

TEST(JsonSyntaxTest, SaysWhereAndWhat) {
  EXPECT_EQ(CheckJsonSyntax("{\"a\":1,}", kDepth).message(),
            "the body is not JSON: expected a name in double quotes at byte 7");
  EXPECT_THAT(std::string(CheckJsonSyntax("[\"a\nb\"]", kDepth).message()),
              HasSubstr("control character"));
}

TEST(JsonSyntaxTest, LimitsNestingWithoutDeepRecursion) {
  const std::string ok = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_TRUE(CheckJsonSyntax(ok, kDepth).ok());
  const std::string deep = "[" + ok + "]";
  EXPECT_THAT(std::string(CheckJsonSyntax(deep, kDepth).message()),
              HasSubstr("nested too deep"));
  // A million brackets stop at the limit instead of overflowing the stack.
  const std::string huge(1 << 20, '[');
  EXPECT_THAT(std::string(CheckJsonSyntax(huge, kDepth).message()),
              HasSubstr("nested too deep"));
  std::string objects;
  for (int i = 0; i < 40; ++i) objects += "{\"a\":";
  EXPECT_THAT(std::string(CheckJsonSyntax(objects, kDepth).message()),
              HasSubstr("nested too deep"));
}

}  // namespace
}  // namespace sheetsync::gateway
