// CapturedChange: a row the triggers captured, as the change the merge gets.
#include "services/writer/capture_sql.h"

#include "gtest/gtest.h"
#include "tests/unit/users_schema.h"

namespace sheetsync {
namespace {

constexpr char kRow[] = "00000000-0000-4000-8000-00000000000a";
constexpr int64_t kT = 1764082869000000;

// One statement writing a row twice captures both writes in the same
// microsecond; the merge breaks the tie by event id, so the later capture
// (the greater id) must have the greater event id: 10 after 9.
TEST(CapturedChangeTest,
     ALaterCaptureInTheSameMicrosecondHasTheGreaterEventId) {
  auto first =
      CapturedChange(test::UsersSchema(), 9, 'U', kRow, kT, "[\"name\"]",
                     "{\"uuid\":\"" + std::string(kRow) + "\",\"name\":\"A\"}");
  auto second =
      CapturedChange(test::UsersSchema(), 10, 'U', kRow, kT, "[\"name\"]",
                     "{\"uuid\":\"" + std::string(kRow) + "\",\"name\":\"B\"}");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->updated_at_us(), second->updated_at_us());
  EXPECT_LT(first->event_id(), second->event_id());
  EXPECT_EQ(first->source(), v1::MYSQL);
}

}  // namespace
}  // namespace sheetsync
