#include "services/common/merge.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kRow[] = "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f";

v1::SqlValue Text(const std::string& text) {
  v1::SqlValue value;
  value.set_text(text);
  return value;
}

v1::Change Update(const std::string& event_id, int64_t ts,
                  std::map<std::string, std::string> cells,
                  v1::Source source = v1::SHEET) {
  v1::Change change;
  change.set_event_id(event_id);
  change.set_row_id(kRow);
  change.set_updated_at_us(ts);
  change.set_source(source);
  for (const auto& [column, text] : cells) {
    (*change.mutable_cells())[column] = Text(text);
  }
  return change;
}

v1::Change Delete(const std::string& event_id, int64_t ts,
                  v1::Source source = v1::SHEET) {
  v1::Change change;
  change.set_event_id(event_id);
  change.set_row_id(kRow);
  change.set_updated_at_us(ts);
  change.set_deleted(true);
  change.set_source(source);
  return change;
}

TEST(MergeTest, NewerCellWinsOlderIsStale) {
  BatchMerger merger{v1::ReadStateResponse()};
  EXPECT_EQ(merger.Merge(Update("e1", 10, {{"name", "Ada"}})).status,
            MergeStatus::kApplied);
  ChangeOutcome old = merger.Merge(Update("e2", 5, {{"name", "Old"}}));
  EXPECT_EQ(old.status, MergeStatus::kStale);
  EXPECT_THAT(old.stale, ElementsAre("name"));
  EXPECT_EQ(old.stale_drops, 1);
  EXPECT_EQ(merger.Row(kRow).cells().at("name").value().text(), "Ada");
}

TEST(MergeTest, EqualTimeBreaksTieByEventId) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("b", 10, {{"name", "B"}}));
  EXPECT_EQ(merger.Merge(Update("a", 10, {{"name", "A"}})).status,
            MergeStatus::kStale);
  EXPECT_EQ(merger.Merge(Update("c", 10, {{"name", "C"}})).status,
            MergeStatus::kApplied);
  EXPECT_EQ(merger.Row(kRow).cells().at("name").value().text(), "C");
}

TEST(MergeTest, DifferentColumnsBothSurviveAndPartial) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("e1", 10, {{"email", "x@y"}}));
  ChangeOutcome outcome =
      merger.Merge(Update("e2", 5, {{"name", "Ada"}, {"email", "old"}}));
  EXPECT_EQ(outcome.status, MergeStatus::kPartial);
  EXPECT_THAT(outcome.applied, ElementsAre("name"));
  EXPECT_THAT(outcome.stale, ElementsAre("email"));
}

TEST(MergeTest, DuplicateEventIdChangesNothingAlsoInSameBatch) {
  v1::ReadStateResponse stored;
  stored.add_known_event_ids("old");
  BatchMerger merger{stored};
  EXPECT_EQ(merger.Merge(Update("old", 10, {{"name", "A"}})).status,
            MergeStatus::kDuplicate);
  EXPECT_EQ(merger.Merge(Update("e1", 10, {{"name", "A"}})).status,
            MergeStatus::kApplied);
  EXPECT_EQ(merger.Merge(Update("e1", 20, {{"name", "B"}})).status,
            MergeStatus::kDuplicate);
  EXPECT_EQ(merger.Row(kRow).cells().at("name").value().text(), "A");
  v1::ApplyRequest plan;
  merger.BuildPlan(plan);
  EXPECT_THAT(plan.new_event_ids(), ElementsAre("e1"));
}

TEST(MergeTest, DeleteWinsTieAndErasesOlderCells) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("e1", 10, {{"name", "A"}}));
  merger.Merge(Update("e2", 20, {{"email", "B"}}));
  ChangeOutcome outcome = merger.Merge(Delete("d1", 10));
  EXPECT_EQ(outcome.status, MergeStatus::kApplied);
  EXPECT_FALSE(merger.Row(kRow).cells().contains("name"));
  EXPECT_TRUE(merger.Row(kRow).cells().contains("email"));
  EXPECT_EQ(merger.Merge(Update("e3", 10, {{"name", "tie"}})).status,
            MergeStatus::kStale);
  v1::ApplyRequest plan;
  merger.BuildPlan(plan);
  ASSERT_EQ(plan.rows_size(), 1);
  EXPECT_FALSE(plan.rows(0).delete_row());
  EXPECT_TRUE(plan.rows(0).replace_row());  // the row was new in this batch
}

TEST(MergeTest, DeleteStatuses) {
  BatchMerger merger{v1::ReadStateResponse()};
  // Nothing stored: applied, the tombstone is kept.
  EXPECT_EQ(merger.Merge(Delete("d1", 10)).status, MergeStatus::kApplied);
  // An equal-or-older delete is covered.
  ChangeOutcome covered = merger.Merge(Delete("d0", 10));
  EXPECT_EQ(covered.status, MergeStatus::kStale);
  EXPECT_EQ(covered.stale_drops, 1);
  // A newer write, then an older delete: stale, but it still guards.
  merger.Merge(Update("e1", 30, {{"name", "A"}}));
  EXPECT_EQ(merger.Merge(Delete("d2", 20)).status, MergeStatus::kStale);
  EXPECT_EQ(merger.Merge(Update("e2", 15, {{"email", "late"}})).status,
            MergeStatus::kStale);
  EXPECT_EQ(merger.Row(kRow).tombstone().updated_at_us(), 20);
}

TEST(MergeTest, LaterWriteRevivesRowWithOnlyNewCells) {
  v1::ReadStateResponse stored;
  v1::RowState* row = stored.add_rows();
  row->set_row_id(kRow);
  row->set_rev(3);
  v1::CellVersion version;
  *version.mutable_value() = Text("A");
  version.set_updated_at_us(5);
  version.set_event_id("e0");
  version.set_source(v1::SHEET);
  (*row->mutable_cells())["name"] = version;
  (*row->mutable_cells())["email"] = version;
  BatchMerger merger{stored};
  merger.Merge(Delete("d1", 10));
  merger.Merge(Update("e1", 11, {{"email", "new"}}));
  v1::ApplyRequest plan;
  merger.BuildPlan(plan);
  ASSERT_EQ(plan.rows_size(), 1);
  const v1::RowWrite& write = plan.rows(0);
  EXPECT_EQ(write.expected_rev(), 3);
  EXPECT_THAT(write.cell_erasures(), ElementsAre("name"));
  EXPECT_TRUE(write.cell_upserts().contains("email"));
  EXPECT_TRUE(write.replace_row());
  EXPECT_EQ(write.table_values().size(), 1u);
  EXPECT_EQ(write.tombstone().updated_at_us(), 10);
}

TEST(MergeTest, ConflictsCountOnlyAgainstTheOtherSource) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("m1", 10, {{"name", "sql"}}, v1::MYSQL));
  // Loses to a MYSQL version: a conflict.
  EXPECT_EQ(merger.Merge(Update("s1", 5, {{"name", "x"}})).conflicts, 1);
  // Loses to a SHEET version: not a conflict.
  merger.Merge(Update("s2", 20, {{"email", "a"}}));
  EXPECT_EQ(merger.Merge(Update("s3", 15, {{"email", "b"}})).conflicts, 0);
  // Wins against MYSQL but the editor saw another value: a conflict.
  v1::Change based = Update("s4", 30, {{"name", "mine"}});
  (*based.mutable_base())["name"] = Text("not-sql");
  ChangeOutcome outcome = merger.Merge(based);
  EXPECT_EQ(outcome.status, MergeStatus::kApplied);
  EXPECT_EQ(outcome.conflicts, 1);
  // Wins with a matching base: sequential, not a conflict.
  merger.Merge(Update("m2", 40, {{"name", "sql2"}}, v1::MYSQL));
  v1::Change sequential = Update("s5", 50, {{"name", "next"}});
  (*sequential.mutable_base())["name"] = Text("sql2");
  EXPECT_EQ(merger.Merge(sequential).conflicts, 0);
}

TEST(MergeTest, PrunedHorizonMakesLateReplayStale) {
  v1::ReadStateResponse stored;
  stored.set_pruned_horizon_us(100);
  BatchMerger merger{stored};
  ChangeOutcome outcome = merger.Merge(Update("e1", 100, {{"name", "zombie"}}));
  EXPECT_EQ(outcome.status, MergeStatus::kStale);
  EXPECT_THAT(outcome.stale, ElementsAre("name"));
  EXPECT_EQ(merger.Merge(Update("e2", 101, {{"name", "new"}})).status,
            MergeStatus::kApplied);
}

TEST(MergeTest, PlanNamesItsOldestChangeToARowWithNothingStored) {
  v1::ReadStateResponse stored;
  stored.set_pruned_horizon_us(100);
  v1::RowState* row = stored.add_rows();  // a row with a cell: not absent
  row->set_row_id("stored");
  row->set_rev(1);
  v1::CellVersion& cell = (*row->mutable_cells())["name"];
  cell.set_updated_at_us(5);
  cell.set_event_id("e0");
  BatchMerger merger{stored};
  v1::Change old_edit = Update("e1", 50, {{"name", "old"}});
  old_edit.set_row_id("stored");
  merger.Merge(old_edit);                                   // applies: ignored
  merger.Merge(Update("e2", 100, {{"name", "zombie"}}));    // stale: ignored
  merger.Merge(Update("e3", 300, {{"name", "new"}}));       // absent row: counts
  merger.Merge(Update("e4", 200, {{"name", "older"}}));     // the row exists now
  v1::Change other = Delete("e5", 250);
  other.set_row_id("other");
  merger.Merge(other);                                      // absent row: counts
  v1::ApplyRequest plan;
  merger.BuildPlan(plan);
  ASSERT_TRUE(plan.has_absent_rows_min_us());
  EXPECT_EQ(plan.absent_rows_min_us(), 250);

  BatchMerger none{stored};
  none.Merge(old_edit);
  v1::ApplyRequest plan2;
  none.BuildPlan(plan2);
  EXPECT_FALSE(plan2.has_absent_rows_min_us());
}

TEST(MergeTest, ChangesAtOrBefore1970ApplyWhenNothingWasPruned) {
  BatchMerger merger{v1::ReadStateResponse()};  // horizon 0: nothing pruned
  for (int64_t ts : {int64_t{0}, int64_t{-1}, int64_t{-62135596800000000}}) {
    const std::string row = "row-" + std::to_string(ts);
    v1::Change change = Update("e" + std::to_string(ts), ts, {{"name", "old"}});
    change.set_row_id(row);
    EXPECT_EQ(merger.Merge(change).status, MergeStatus::kApplied) << ts;
  }
}

TEST(MergeTest, LosingMysqlEditIsWrittenBack) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("s1", 50, {{"name", "sheet"}, {"email", "e"}}));
  v1::ApplyRequest first;
  merger.BuildPlan(first);
  BatchMerger next{[&] {
    v1::ReadStateResponse stored;
    *stored.add_rows() = merger.Row(kRow);
    return stored;
  }()};
  ChangeOutcome outcome = next.Merge(Delete("m1", 40, v1::MYSQL));
  EXPECT_EQ(outcome.status, MergeStatus::kStale);
  v1::ApplyRequest plan;
  next.BuildPlan(plan);
  ASSERT_EQ(plan.rows_size(), 1);
  EXPECT_FALSE(plan.rows(0).delete_row());
  EXPECT_TRUE(plan.rows(0).replace_row());
  EXPECT_EQ(plan.rows(0).table_values().at("name").text(), "sheet");
  EXPECT_THAT(plan.rows(0).cell_erasures(), IsEmpty());
}

// The stored state of a merger's rows, to read the next batch against.
v1::ReadStateResponse StoredAfter(BatchMerger& merger) {
  v1::ReadStateResponse stored;
  *stored.add_rows() = merger.Row(kRow);
  return stored;
}

// MySQL holds what SQL wrote, exactly; the captured text of some types is
// not exact (FLOAT to 6 digits, BIT): a winning MYSQL value is never written
// back, neither for a row the engine never heard of (an INSERT, the rows
// there at registration) nor for one it knows.
TEST(MergeTest, WinningMysqlValuesAreNotWrittenBack) {
  BatchMerger merger{v1::ReadStateResponse()};
  EXPECT_EQ(merger
                .Merge(Update("m1", 10, {{"price", "12345.7"}, {"name", "a"}},
                              v1::MYSQL))
                .status,
            MergeStatus::kApplied);
  v1::ApplyRequest first;
  merger.BuildPlan(first);
  ASSERT_EQ(first.rows_size(), 1);  // its versions are stored...
  EXPECT_EQ(first.rows(0).cell_upserts().size(), 2u);
  EXPECT_FALSE(
      first.rows(0).replace_row());  // ...and the user table is left alone
  EXPECT_THAT(first.rows(0).table_values(), IsEmpty());

  BatchMerger next{StoredAfter(merger)};
  next.Merge(Update("m2", 20, {{"price", "1.5"}}, v1::MYSQL));
  v1::ApplyRequest second;
  next.BuildPlan(second);
  ASSERT_EQ(second.rows_size(), 1);
  EXPECT_FALSE(second.rows(0).replace_row());
  EXPECT_THAT(second.rows(0).table_values(), IsEmpty());
}

// A MYSQL edit that loses some cells has only those put back: the stored
// winner, or DEFAULT where a newer delete erased the cell. The cells it won
// keep what SQL wrote.
TEST(MergeTest, ALosingMysqlEditHasOnlyItsLosingCellsPutBack) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("s1", 50, {{"name", "sheet"}}));
  merger.Merge(Update("m0", 10, {{"price", "1"}}, v1::MYSQL));
  v1::ApplyRequest first;
  merger.BuildPlan(first);
  BatchMerger next{StoredAfter(merger)};
  ChangeOutcome outcome = next.Merge(
      Update("m1", 40, {{"name", "sql"}, {"price", "12345.67"}}, v1::MYSQL));
  EXPECT_EQ(outcome.status, MergeStatus::kPartial);
  v1::ApplyRequest plan;
  next.BuildPlan(plan);
  ASSERT_EQ(plan.rows_size(), 1);
  EXPECT_FALSE(plan.rows(0).replace_row());
  ASSERT_EQ(plan.rows(0).table_values().size(), 1u);
  EXPECT_EQ(plan.rows(0).table_values().at("name").text(), "sheet");

  // Behind a newer delete, a lost cell that nothing newer wrote gets DEFAULT.
  BatchMerger later{StoredAfter(next)};
  later.Merge(Delete("s2", 45));
  later.Merge(Update("s3", 60, {{"email", "x"}}));
  v1::ApplyRequest deleted;
  later.BuildPlan(deleted);
  BatchMerger last{StoredAfter(later)};
  // price (written at 40) was erased by the delete at 45.
  last.Merge(Update("m2", 44, {{"price", "old"}, {"email", "old"}}, v1::MYSQL));
  v1::ApplyRequest restore;
  last.BuildPlan(restore);
  ASSERT_EQ(restore.rows_size(), 1);
  EXPECT_FALSE(restore.rows(0).replace_row());
  EXPECT_EQ(restore.rows(0).table_values().size(), 2u);
  EXPECT_TRUE(restore.rows(0).table_values().at("price").is_default());
  EXPECT_EQ(restore.rows(0).table_values().at("email").text(), "x");
}

// A MYSQL edit newer than the delete that removed the row brings it back as
// a sheet edit would: rewritten whole, DEFAULT where nothing newer wrote.
TEST(MergeTest, AMysqlEditNewerThanADeleteRewritesTheRow) {
  BatchMerger merger{v1::ReadStateResponse()};
  merger.Merge(Update("s1", 10, {{"name", "a"}, {"email", "b"}}));
  merger.Merge(Delete("s2", 20));
  v1::ApplyRequest first;
  merger.BuildPlan(first);
  BatchMerger next{StoredAfter(merger)};
  next.Merge(Update("m1", 30, {{"name", "sql"}}, v1::MYSQL));
  v1::ApplyRequest plan;
  next.BuildPlan(plan);
  ASSERT_EQ(plan.rows_size(), 1);
  EXPECT_TRUE(plan.rows(0).replace_row());
  EXPECT_EQ(plan.rows(0).table_values().at("name").text(), "sql");
  EXPECT_FALSE(plan.rows(0).table_values().contains("email"));
}

}  // namespace
}  // namespace sheetsync
