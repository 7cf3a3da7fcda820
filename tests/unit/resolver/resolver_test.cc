// The resolver's planning loop against a scripted writer: what it asks the
// writer to commit, first and after a conflict.
#include "services/resolver/resolver.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/clock.h"
#include "sheetsync/v1/sync_mock.grpc.pb.h"

namespace sheetsync {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::Return;
using ::testing::SaveArg;
using ::testing::SetArgPointee;

constexpr char kRowX[] = "00000000-0000-4000-8000-00000000000a";
constexpr char kRowY[] = "00000000-0000-4000-8000-00000000000b";
constexpr int64_t kT = 1764082869000000;

v1::TableSchema Users() {
  v1::TableSchema schema;
  schema.set_table("users");
  schema.set_key_column("uuid");
  for (const char* name : {"uuid", "name"}) {
    v1::Column* column = schema.add_columns();
    column->set_name(name);
    column->set_nullable(true);
  }
  return schema;
}

v1::Change NameChange(const std::string& event, const std::string& row, int64_t ts,
                      const std::string& name) {
  v1::Change change;
  change.set_event_id(event);
  change.set_row_id(row);
  change.set_updated_at_us(ts);
  change.set_source(v1::SHEET);
  (*change.mutable_cells())["name"].set_text(name);
  return change;
}

v1::RowState RowWithName(const std::string& row, int64_t rev, const std::string& event,
                         int64_t ts, const std::string& name) {
  v1::RowState state;
  state.set_row_id(row);
  state.set_rev(rev);
  v1::CellVersion& cell = (*state.mutable_cells())["name"];
  cell.mutable_value()->set_text(name);
  cell.set_updated_at_us(ts);
  cell.set_event_id(event);
  cell.set_source(v1::SHEET);
  return state;
}

class ResolverTest : public ::testing::Test {
 protected:
  ResolverTest()
      : clock_(kT),
        schemas_([](const std::string&) { return Users(); }, clock_, absl::Minutes(1)),
        metrics_(registry_),
        resolver_(writer_, schemas_, metrics_, ResolverOptions{}) {}

  v1::MockWriterStub writer_;
  FakeClock clock_;
  SchemaCache schemas_;
  prometheus::Registry registry_;
  SyncMetrics metrics_;
  Resolver resolver_;
};

// A retried request: its first change was committed before, the second is
// new. The second's row moves before its plan commits. Planning again must
// still know the first change's event (and not write its row again).
TEST_F(ResolverTest, AnEventKnownBeforeAConflictStaysKnown) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-1", kRowX, kT, "Ada");
  *request.add_changes() = NameChange("e-2", kRowY, kT, "Bob");

  v1::ReadStateResponse stored;
  *stored.add_rows() = RowWithName(kRowX, 1, "e-1", kT, "Ada");
  stored.add_known_event_ids("e-1");
  EXPECT_CALL(writer_, ReadState(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(stored), Return(grpc::Status::OK)));

  v1::ApplyResponse conflict;  // row Y was written meanwhile (older name)
  conflict.set_conflict(true);
  *conflict.mutable_fresh()->add_rows() = RowWithName(kRowY, 1, "e-0", kT - 1, "Old");
  std::vector<v1::ApplyRequest> plans;
  EXPECT_CALL(writer_, Apply(_, _, _))
      .WillOnce(DoAll([&](auto, const v1::ApplyRequest& plan, auto) { plans.push_back(plan); },
                      SetArgPointee<2>(conflict), Return(grpc::Status::OK)))
      .WillOnce(DoAll([&](auto, const v1::ApplyRequest& plan, auto) { plans.push_back(plan); },
                      Return(grpc::Status::OK)));

  absl::StatusOr<v1::ResolveResponse> response = resolver_.Resolve(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(plans.size(), 2u);
  for (const v1::ApplyRequest& plan : plans) {
    EXPECT_THAT(plan.new_event_ids(), ElementsAre("e-2"));
    ASSERT_EQ(plan.rows_size(), 1);
    EXPECT_EQ(plan.rows(0).row_id(), kRowY);
  }
  EXPECT_EQ(plans[0].rows(0).expected_rev(), 0);
  EXPECT_EQ(plans[1].rows(0).expected_rev(), 1);
  EXPECT_EQ(response->results(0).status(), "duplicate");
  EXPECT_EQ(response->results(1).status(), "applied");
}

// A row the plan wrote that the fresh state lacks (pruned meanwhile) is
// planned again as absent, not against the rev read before.
TEST_F(ResolverTest, APlannedRowMissingFromTheFreshStateIsAbsent) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-3", kRowX, kT, "Cy");

  v1::ReadStateResponse stored;
  *stored.add_rows() = RowWithName(kRowX, 4, "e-old", kT - 5, "Old");
  EXPECT_CALL(writer_, ReadState(_, _, _))
      .WillOnce(DoAll(SetArgPointee<2>(stored), Return(grpc::Status::OK)));
  v1::ApplyResponse conflict;
  conflict.set_conflict(true);
  std::vector<v1::ApplyRequest> plans;
  EXPECT_CALL(writer_, Apply(_, _, _))
      .WillOnce(DoAll([&](auto, const v1::ApplyRequest& plan, auto) { plans.push_back(plan); },
                      SetArgPointee<2>(conflict), Return(grpc::Status::OK)))
      .WillOnce(DoAll([&](auto, const v1::ApplyRequest& plan, auto) { plans.push_back(plan); },
                      Return(grpc::Status::OK)));

  absl::StatusOr<v1::ResolveResponse> response = resolver_.Resolve(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].rows(0).expected_rev(), 4);
  EXPECT_EQ(plans[1].rows(0).expected_rev(), 0);
  EXPECT_EQ(response->results(0).status(), "applied");
}

}  // namespace
}  // namespace sheetsync
