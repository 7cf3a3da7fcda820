#include "gateway/query.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync::gateway {
namespace {

using ::testing::HasSubstr;

TEST(PercentDecodeTest, DecodesEscapesAndPlusOnlyInQueries) {
  EXPECT_EQ(*PercentDecode("a%20b+c%C3%A9", true), "a b c\xc3\xa9");
  EXPECT_EQ(*PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(*PercentDecode("users%00", true), std::string("users\0", 6));
}

TEST(PercentDecodeTest, RefusesBadEscapesAndBytesThatAreNotUtf8) {
  for (const char* bad : {"%", "%2", "%zz", "a%2"}) {
    absl::StatusOr<std::string> decoded = PercentDecode(bad, true);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(std::string(decoded.status().message()), HasSubstr("%-escape"));
  }
  for (const char* bad : {"%ff", "%c3%28", "\xff", "%ed%a0%80"}) {
    absl::StatusOr<std::string> decoded = PercentDecode(bad, false);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_THAT(std::string(decoded.status().message()),
                HasSubstr("not UTF-8"));
  }
}

TEST(ParseQueryTest, FirstOfRepeatedNamesWinsAndValuesMustBeUtf8) {
  absl::StatusOr<std::map<std::string, std::string>> params =
      ParseQuery("table=users&limit=1&limit=2&since=");
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ((*params)["table"], "users");
  EXPECT_EQ((*params)["limit"], "1");
  EXPECT_EQ((*params)["since"], "");
  EXPECT_EQ(ParseQuery("table=%ff").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseQuery("exclude_origin=a&%fe=b").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// `limit`: a positive integer, capped at the maximum however many digits
// it has (99999999999 answered 400 while 5001 was capped).
TEST(ParseLimitTest, PositiveIntegersAreCappedAtTheMaximum) {
  auto limit = [](const std::string& text) {
    std::map<std::string, std::string> params;
    if (text != "(none)") params["limit"] = text;
    return ParseLimit(params, 500, 5000);
  };
  EXPECT_EQ(*limit("(none)"), 500);
  EXPECT_EQ(*limit(""), 500);
  EXPECT_EQ(*limit("1"), 1);
  EXPECT_EQ(*limit("0042"), 42);
  EXPECT_EQ(*limit("5001"), 5000);
  EXPECT_EQ(*limit("2147483648"), 5000);
  EXPECT_EQ(*limit("99999999999999999999999"), 5000);
  for (const char* bad :
       {"0", "000", "-1", "+5", " 5", "5 ", "1e3", "abc", "0x10"}) {
    EXPECT_EQ(limit(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace sheetsync::gateway
