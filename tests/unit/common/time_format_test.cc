// Tests of services/common/time_format.h. Expected values were computed
// independently (Python's datetime).
#include "services/common/time_format.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/reject.h"

namespace sheetsync {
namespace {

using ::testing::HasSubstr;

google::protobuf::Value Number(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

google::protobuf::Value String(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

void ExpectInvalidTimestamp(const absl::Status& status,
                            absl::string_view message_part) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(RejectCode(status), "invalid_timestamp") << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(message_part));
}

TEST(ParseRfc3339MicrosTest, AcceptsTheContractGrammar) {
  const struct {
    const char* in;
    int64_t us;
  } kCases[] = {
      {"2026-11-25T15:01:09.123Z", 1795618869123000},
      {"2026-11-25T15:01:09.123z", 1795618869123000},
      {"2026-11-25t15:01:09.123Z", 1795618869123000},
      {"2026-11-25T15:01:09.123000Z", 1795618869123000},
      {"2026-11-25T15:01:09.1Z", 1795618869100000},
      {"2026-11-25T15:01:09Z", 1795618869000000},
      {"2026-11-25T15:01:09+05:30", 1795599069000000},
      {"2026-11-25T15:01:09.123456-08:00", 1795647669123456},
      {"2026-11-25T15:01:09.123-00:00", 1795618869123000},
      {"2024-02-29T00:00:00Z", 1709164800000000},
      {"2000-03-01T00:00:00+00:00", 951868800000000},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.5Z", -500000},
      {"0001-01-01T00:00:00Z", -62135596800000000},
      {"9999-12-31T23:59:59.999999Z", 253402300799999999},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<int64_t> got = ParseRfc3339Micros(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
    EXPECT_EQ(*got, c.us) << c.in;
  }
}

TEST(ParseRfc3339MicrosTest, RejectsEverythingElse) {
  const struct {
    const char* in;
    const char* why;
  } kCases[] = {
      {"2026-11-25T15:01:09.1234567Z", "at most 6 fractional digits"},
      {"2026-11-25T15:01:09.Z", "digits after '.'"},
      {"2026-11-25T15:01:09", "missing the time zone offset"},
      {"2026-11-25T15:01:09.123", "missing the time zone offset"},
      {"2026-11-25 15:01:09Z", "expected 'T'"},
      {"2026-11-25", "expected 'T'"},
      {"2026-02-30T00:00:00Z", "2026-02-30 is not a calendar date"},
      {"2025-02-29T00:00:00Z", "not a calendar date"},
      {"2026-04-31T00:00:00Z", "not a calendar date"},
      {"2026-13-01T00:00:00Z", "month 13"},
      {"2026-00-01T00:00:00Z", "month 00"},
      {"2026-01-00T00:00:00Z", "not a calendar date"},
      {"0000-01-01T00:00:00Z", "year 0000"},
      {"2026-11-25T24:00:00Z", "hour"},
      {"2026-11-25T23:60:00Z", "minute"},
      {"2026-11-25T23:59:60Z", "second"},
      {"2026-11-25T15:01Z", "HH:MM:SS"},
      {"2026-11-25T15:01:09+05", "offset"},
      {"2026-11-25T15:01:09+5:30", "offset"},
      {"2026-11-25T15:01:09+05:60", "offset"},
      {"2026-11-25T15:01:09+24:00", "offset"},
      {"2026-11-25T15:01:09+0530", "offset"},
      {"2026-11-25T15:01:09ZZ", "unexpected text"},
      {"2026-11-25T15:01:09Z ", "unexpected text"},
      {" 2026-11-25T15:01:09Z", "YYYY-MM-DD"},
      {"26-11-25T15:01:09Z", "YYYY-MM-DD"},
      {"12026-11-25T15:01:09Z", "YYYY-MM-DD"},
      {"2026-1-25T15:01:09Z", "YYYY-MM-DD"},
      {"2026/11/25T15:01:09Z", "YYYY-MM-DD"},
      {"", "YYYY-MM-DD"},
      {"1764082869123", "YYYY-MM-DD"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.in);
    ExpectInvalidTimestamp(ParseRfc3339Micros(c.in).status(), c.why);
  }
}

TEST(ParseTimestampTest, TakesStringsAndEpochMilliseconds) {
  EXPECT_EQ(ParseTimestamp(String("2026-11-25T15:01:09.123Z")).value(),
            1795618869123000);
  EXPECT_EQ(ParseTimestamp(Number(1764082869123)).value(), 1764082869123000);
  EXPECT_EQ(ParseTimestamp(Number(1764082869123.0)).value(), 1764082869123000);
  EXPECT_EQ(ParseTimestamp(Number(0)).value(), 0);
  EXPECT_EQ(ParseTimestamp(Number(-0.0)).value(), 0);
  EXPECT_EQ(ParseTimestamp(Number(-1)).value(), -1000);
  EXPECT_EQ(ParseTimestamp(Number(-62135596800000)).value(),
            -62135596800000000);
  EXPECT_EQ(ParseTimestamp(Number(253402300799999)).value(),
            253402300799999000);
}

TEST(ParseTimestampTest, RejectsOtherNumbersAndKinds) {
  ExpectInvalidTimestamp(ParseTimestamp(Number(1764082869123.5)).status(),
                         "whole number");
  ExpectInvalidTimestamp(ParseTimestamp(Number(0.5)).status(), "whole number");
  ExpectInvalidTimestamp(ParseTimestamp(Number(-62135596800001)).status(),
                         "0001-9999");
  ExpectInvalidTimestamp(ParseTimestamp(Number(253402300800000)).status(),
                         "0001-9999");
  ExpectInvalidTimestamp(ParseTimestamp(Number(1e300)).status(), "0001-9999");
  ExpectInvalidTimestamp(
      ParseTimestamp(Number(std::numeric_limits<double>::quiet_NaN())).status(),
      "0001-9999");
  ExpectInvalidTimestamp(
      ParseTimestamp(Number(std::numeric_limits<double>::infinity())).status(),
      "0001-9999");
  google::protobuf::Value v;
  v.set_bool_value(true);
  ExpectInvalidTimestamp(ParseTimestamp(v).status(), "a boolean");
  v.set_null_value(google::protobuf::NULL_VALUE);
  ExpectInvalidTimestamp(ParseTimestamp(v).status(), "null");
  v.mutable_list_value();
  ExpectInvalidTimestamp(ParseTimestamp(v).status(), "an object or array");
  ExpectInvalidTimestamp(ParseTimestamp(String("yesterday")).status(),
                         "got \"yesterday\"");
}

TEST(FormatRfc3339MicrosTest, AlwaysSixDigitsUtc) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Micros(1795618869123000),
            "2026-11-25T15:01:09.123000Z");
  EXPECT_EQ(FormatRfc3339Micros(-62135596800000000),
            "0001-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(253402300799999999),
            "9999-12-31T23:59:59.999999Z");
}

TEST(FormatRfc3339MicrosTest, RoundTripsThroughParse) {
  std::mt19937_64 rng(20261125);
  std::uniform_int_distribution<int64_t> dist(-62135596800000000,
                                              253402300799999999);
  for (int i = 0; i < 2000; ++i) {
    const int64_t us = dist(rng);
    absl::StatusOr<int64_t> back = ParseRfc3339Micros(FormatRfc3339Micros(us));
    ASSERT_TRUE(back.ok()) << us << ": " << back.status();
    EXPECT_EQ(*back, us);
  }
}

TEST(ParseDateTimeTextTest, SqlSyntaxAllowsSpaceAndNoOffset) {
  absl::StatusOr<DateTimeText> t =
      ParseDateTimeText("2026-11-25 15:01:09.5", DateTimeSyntax::kSql);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->civil, absl::CivilSecond(2026, 11, 25, 15, 1, 9));
  EXPECT_EQ(t->micros, 500000);
  EXPECT_FALSE(t->has_offset);
  t = ParseDateTimeText("2026-11-25T15:01:09-01:30", DateTimeSyntax::kSql);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->has_offset);
  EXPECT_EQ(t->offset_seconds, -5400);
  EXPECT_EQ(ToUnixMicros(*t), 1795618869000000 + 5400000000);
}

TEST(ParseDateTimeTextTest, SyntaxAndRangeErrorsDiffer) {
  EXPECT_EQ(ParseDateTimeText("2026-11-25 15:01", DateTimeSyntax::kSql)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDateTimeText("2026-02-30 15:01:00", DateTimeSyntax::kSql)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDateText("2026-02-29").status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDateText("2026-02-28x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDateText("2028-02-29").value(), absl::CivilDay(2028, 2, 29));
}

TEST(CivilFromMicrosTest, FloorsNegativeTimes) {
  int32_t micros;
  EXPECT_EQ(CivilFromMicros(-1, &micros),
            absl::CivilSecond(1969, 12, 31, 23, 59, 59));
  EXPECT_EQ(micros, 999999);
  EXPECT_EQ(CivilFromMicros(1000000, &micros),
            absl::CivilSecond(1970, 1, 1, 0, 0, 1));
  EXPECT_EQ(micros, 0);
}

}  // namespace
}  // namespace sheetsync
