// Tests of services/common/ids.h and services/common/reject.h.
#include "services/common/ids.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/reject.h"

namespace sheetsync {
namespace {

using ::testing::HasSubstr;

void ExpectRejected(const absl::Status& status, absl::string_view code,
                    absl::string_view message_part) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(RejectCode(status), code) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(message_part));
}

TEST(RejectTest, CarriesCodeAndMessage) {
  const absl::Status status = Reject("type_mismatch", "column `a` expects INT");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "column `a` expects INT");
  EXPECT_EQ(RejectCode(status), "type_mismatch");
}

TEST(RejectTest, CodeSurvivesCopyAndIsTheLastOneSet) {
  absl::Status status = Reject("out_of_range", "x");
  const absl::Status copy = status;
  EXPECT_EQ(RejectCode(copy), "out_of_range");
  status.SetPayload(kRejectCodeTypeUrl, absl::Cord("value_too_long"));
  EXPECT_EQ(RejectCode(status), "value_too_long");
}

TEST(RejectTest, DefaultsToInvalidChange) {
  EXPECT_EQ(RejectCode(absl::InvalidArgumentError("no code")),
            "invalid_change");
  EXPECT_EQ(RejectCode(absl::UnavailableError("down")), "invalid_change");
  EXPECT_EQ(RejectCode(absl::OkStatus()), "invalid_change");
}

TEST(NormalizeRowIdTest, AcceptsAnyCaseAndLowersIt) {
  const struct {
    const char* in;
    const char* out;
  } kCases[] = {
      {"4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f",
       "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f"},
      {"4F1C2D9E-3B7A-4C51-9E0F-1A2B3C4D5E6F",
       "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f"},
      {"4f1C2d9E-3b7A-4c51-9E0f-1a2B3c4D5e6F",
       "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f"},
      {"00000000-0000-0000-0000-000000000000",
       "00000000-0000-0000-0000-000000000000"},
      {"ffffffff-ffff-ffff-ffff-ffffffffffff",
       "ffffffff-ffff-ffff-ffff-ffffffffffff"},
  };
  for (const auto& c : kCases) {
    absl::StatusOr<std::string> got = NormalizeRowId(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
    EXPECT_EQ(*got, c.out);
  }
}

TEST(NormalizeRowIdTest, RejectsAnythingElse) {
  const char* kCases[] = {
      "",
      "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6",    // 35 characters
      "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f0",  // 37 characters
      "4f1c2d9e3b7a4c519e0f1a2b3c4d5e6f",       // no hyphens
      "4f1c2d9e-3b7a4-c51-9e0f-1a2b3c4d5e6f",   // hyphen moved
      "4f1c2d9g-3b7a-4c51-9e0f-1a2b3c4d5e6f",   // 'g'
      "{4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f}",
      " 4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f",
      "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6 ",
      "urn:uuid:4f1c2d9e-3b7a-4c51-9e0f-1a2b",
      "4f1c2d9e_3b7a_4c51_9e0f_1a2b3c4d5e6f",
  };
  for (const char* in : kCases) {
    SCOPED_TRACE(in);
    ExpectRejected(NormalizeRowId(in).status(), "invalid_row_id", "row_id");
  }
}

TEST(NormalizeRowIdTest, MessageShowsTheValue) {
  ExpectRejected(NormalizeRowId("abc").status(), "invalid_row_id",
                 "got \"abc\"");
}

TEST(ValidateEventIdTest, AcceptsPrintableAsciiUpTo128Bytes) {
  EXPECT_TRUE(ValidateEventId("x").ok());
  EXPECT_TRUE(ValidateEventId("b7c1a3e0-0b5e-4f57-9a53-2f5c3d1e9a10").ok());
  EXPECT_TRUE(ValidateEventId(std::string(128, 'a')).ok());
  std::string all;
  for (char c = 0x21; c <= 0x7E; ++c) all.push_back(c);
  EXPECT_TRUE(ValidateEventId(all).ok());
}

TEST(ValidateEventIdTest, RejectsEmptyTooLongAndNonPrintable) {
  ExpectRejected(ValidateEventId(""), "invalid_event_id", "empty");
  ExpectRejected(ValidateEventId(std::string(129, 'a')), "invalid_event_id",
                 "at most 128 bytes");
  ExpectRejected(ValidateEventId("a b"), "invalid_event_id",
                 "0x20 at offset 1");
  ExpectRejected(ValidateEventId("a\tb"), "invalid_event_id", "0x09");
  ExpectRejected(ValidateEventId("ab\x7F"), "invalid_event_id", "0x7F");
  ExpectRejected(ValidateEventId("caf\xC3\xA9"), "invalid_event_id", "0xC3");
  ExpectRejected(ValidateEventId(std::string("a\0b", 3)), "invalid_event_id",
                 "0x00");
}

}  // namespace
}  // namespace sheetsync
