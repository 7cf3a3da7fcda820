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

// A captured row that cannot sync is counted as rejected by why: each was
// counted as invalid_row_id.
TEST(CapturedChangeTest, RowsThatCannotSyncNameTheirReason) {
  auto reason = [](const std::string& row, const std::string& cols,
                   const std::string& vals) {
    absl::StatusOr<v1::Change> change =
        CapturedChange(test::UsersSchema(), 1, 'U', row, kT, cols, vals);
    return change.ok() ? std::string("ok")
                       : std::string(CaptureSkipReason(change.status()));
  };
  const std::string vals = "{\"name\":\"A\"}";
  EXPECT_EQ(reason(kRow, "[\"name\"]", vals), "ok");
  EXPECT_EQ(reason("not-a-uuid", "[\"name\"]", vals), "invalid_row_id");
  EXPECT_EQ(reason(kRow, "[\"name\"]", "{\"name\":"), "invalid_value");
  EXPECT_EQ(reason(kRow, "[\"name\"", vals), "invalid_value");
  EXPECT_EQ(reason(kRow, "[\"dropped\"]", "{\"dropped\":\"x\"}"),
            "unknown_column");
}

// An edit of a column the schema lacks (added since it was read, if the
// triggers are newer) is not merged without it: NotFound, for the caller to
// read the table again. Read after the edit (known_only), the schema still
// lacks only dropped columns, which are left out.
TEST(CapturedChangeTest, AnEditOfAColumnTheSchemaLacksWaitsForTheSchema) {
  const std::string vals = R"({"name":"A","added":"x"})";
  auto status = [&](char op, const std::string& cols, bool known_only) {
    return CapturedChange(test::UsersSchema(), 1, op, kRow, kT, cols, vals,
                          known_only)
        .status();
  };
  EXPECT_TRUE(absl::IsNotFound(status('U', R"(["name","added"])", false)));
  EXPECT_TRUE(absl::IsNotFound(status('I', "", false)));
  EXPECT_TRUE(status('U', R"(["name"])", false).ok());  // not an edit of it
  absl::StatusOr<v1::Change> known =
      CapturedChange(test::UsersSchema(), 1, 'U', kRow, kT,
                     R"(["name","added"])", vals, /*known_only=*/true);
  ASSERT_TRUE(known.ok()) << known.status();
  EXPECT_EQ(known->cells().size(), 1);
  EXPECT_EQ(known->cells().at("name").text(), "A");
  EXPECT_TRUE(absl::IsNotFound(status('U', R"(["added"])", true)));
}

// Column names are case-insensitive in MySQL: an edit logged before a
// column was renamed in case only (name -> Name) is still an edit of it.
TEST(CapturedChangeTest, AnEditLoggedBeforeACaseOnlyRenameIsOfTheColumn) {
  v1::TableSchema schema = test::UsersSchema();
  for (v1::Column& column : *schema.mutable_columns()) {
    if (column.name() == "name") column.set_name("Name");
  }
  absl::StatusOr<v1::Change> update = CapturedChange(
      schema, 1, 'U', kRow, kT, R"(["name"])", R"({"name":"A"})");
  ASSERT_TRUE(update.ok()) << update.status();
  EXPECT_EQ(update->cells().at("Name").text(), "A");
  absl::StatusOr<v1::Change> insert =
      CapturedChange(schema, 2, 'I', kRow, kT, "", R"({"name":"B"})");
  ASSERT_TRUE(insert.ok()) << insert.status();
  EXPECT_EQ(insert->cells().at("Name").text(), "B");
}

}  // namespace
// A signature names the trigger text's version, so that a writer can tell
// a newer writer's triggers.
TEST(CaptureSignatureTest, NamesTheTriggersVersion) {
  const std::string signature = CaptureSignature(test::UsersSchema());
  EXPECT_EQ(CaptureSignatureVersion(signature), 5) << signature;
  EXPECT_EQ(CaptureSignatureVersion("6.0badf00d"), 6);
  EXPECT_EQ(CaptureSignatureVersion("1a2b3c4d"), 4);  // earlier writers'
  EXPECT_EQ(CaptureSignatureVersion(""), 0);
  EXPECT_EQ(CaptureSignatureVersion("suspended"), 0);
}

// Deletes and leases name rows by primary key only: a statement planned as a
// scan would wait for rows other transactions hold (feed_test has the stall).
TEST(CapturedRowsSqlTest, TouchOnlyTheGivenIdsByPrimaryKey) {
  const std::vector<int64_t> ids = {7, 9};
  EXPECT_EQ(DeleteCapturedSql(ids),
            (std::vector<std::string>{
                "DELETE FROM `_sheetsync_capture` WHERE id = 7",
                "DELETE FROM `_sheetsync_capture` WHERE id = 9"}));
  EXPECT_EQ(LeaseCapturedSql(ids, 42),
            "UPDATE `_sheetsync_capture` FORCE INDEX (PRIMARY) SET "
            "lease_until_us = 42 "
            "WHERE id IN (7,9)");
}

}  // namespace sheetsync
