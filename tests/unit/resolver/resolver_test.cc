// The resolver's planning loop against a scripted writer, served over an
// in-process gRPC channel: what it asks the writer to commit, first and after
// a conflict.
#include "services/resolver/resolver.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/clock.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "tests/support/registry_samples.h"
#include "tests/unit/resolver/scripted_writer.h"

namespace sheetsync {
namespace {

using ::testing::_;
using ::testing::DoAll;
using ::testing::ElementsAre;
using ::testing::Return;
using ::testing::SaveArgPointee;
using ::testing::SetArgPointee;

constexpr char kRowX[] = "00000000-0000-4000-8000-00000000000a";
constexpr char kRowY[] = "00000000-0000-4000-8000-00000000000b";
constexpr int64_t kT = 1764082869000000;

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

// An SQL edit of row X's name, captured as `id` at `ts`.
v1::Change CapturedName(int id, int64_t ts, const std::string& name) {
  v1::Change change =
      NameChange(absl::StrCat("mysql-", ts, "-", id), kRowX, ts, name);
  change.set_source(v1::MYSQL);
  return change;
}

// Adds it to a conflict answer, as an SQL edit not merged yet.
void AddPending(v1::ApplyResponse& conflict, int id, int64_t ts,
                const std::string& name) {
  conflict.set_conflict(true);
  v1::CapturedChange& pending = *conflict.add_pending_captures();
  pending.set_capture_id(id);
  pending.set_captured_at_us(ts);
  *pending.mutable_change() = CapturedName(id, ts, name);
}

ResolverOptions ReadFirst(ReadPolicy::Mode mode) {
  ResolverOptions options;
  options.read_first = mode;
  return options;
}

// The writer's two calls the resolver makes, as gMock methods.
class ScriptedWriter : public v1::Writer::Service {
 public:
  MOCK_METHOD(grpc::Status, ReadState,
              (grpc::ServerContext*, const v1::ReadStateRequest*, v1::ReadStateResponse*),
              (override));
  MOCK_METHOD(grpc::Status, Apply,
              (grpc::ServerContext*, const v1::ApplyRequest*, v1::ApplyResponse*),
              (override));
};

class ResolverTest : public ::testing::Test {
 protected:
  explicit ResolverTest(ReadPolicy::Mode mode = ReadPolicy::Mode::kAlways)
      : server_(test::ServeInProcess(writer_)),
        stub_(v1::Writer::NewStub(server_->InProcessChannel(grpc::ChannelArguments()))),
        clock_(kT),
        schemas_([](const std::string&) { return test::UsersSchema(); }, clock_, absl::Minutes(1)),
        metrics_(registry_),
        resolver_(*stub_, schemas_, metrics_, loop_, ReadFirst(mode)) {
    loop_.Start();
  }
  ~ResolverTest() override { server_->Shutdown(); }

  void ExpectRead(const v1::ReadStateResponse& stored) {
    EXPECT_CALL(writer_, ReadState(_, _, _))
        .WillOnce(DoAll(SetArgPointee<2>(stored), Return(grpc::Status::OK)));
  }

  // Expects two Apply calls, answered `first` and `second`; keeps each plan.
  void ExpectApplies(const v1::ApplyResponse& first, const v1::ApplyResponse& second,
                     std::vector<v1::ApplyRequest>& plans) {
    auto keep = [&plans](auto, const v1::ApplyRequest* plan, auto) { plans.push_back(*plan); };
    EXPECT_CALL(writer_, Apply(_, _, _))
        .WillOnce(DoAll(keep, SetArgPointee<2>(first), Return(grpc::Status::OK)))
        .WillOnce(DoAll(keep, SetArgPointee<2>(second), Return(grpc::Status::OK)));
  }

  // Resolves `request` with nothing stored, the first plan answered
  // `conflict` and the second committed; keeps both plans.
  absl::StatusOr<v1::ResolveResponse> ResolveThrough(
      const v1::ResolveRequest& request, const v1::ApplyResponse& conflict,
      std::vector<v1::ApplyRequest>& plans) {
    ExpectRead(v1::ReadStateResponse());
    ExpectApplies(conflict, v1::ApplyResponse(), plans);
    absl::StatusOr<v1::ResolveResponse> response =
        resolver_.Resolve(request, nullptr);
    EXPECT_EQ(plans.size(), 2u);
    if (plans.size() != 2u) return absl::InternalError("not two plans");
    return response;
  }

  ScriptedWriter writer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Writer::Stub> stub_;
  FakeClock clock_;
  SchemaCache schemas_;
  prometheus::Registry registry_;
  SyncMetrics metrics_;
  CompletionLoop loop_;  // the writer's answers and the retries run on it
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
  ExpectRead(stored);

  v1::ApplyResponse conflict;  // row Y was written meanwhile (older name)
  conflict.set_conflict(true);
  *conflict.mutable_fresh()->add_rows() = RowWithName(kRowY, 1, "e-0", kT - 1, "Old");
  std::vector<v1::ApplyRequest> plans;
  ExpectApplies(conflict, v1::ApplyResponse(), plans);

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

// A sheet edit meets SQL edits of its row captured but not merged: the
// writer sends the plan back with them. One of them a poller merged
// meanwhile (its event is known): a duplicate, whose capture lag that
// merge observed; only the other is observed here.
TEST_F(ResolverTest, PendingCapturesMergedBeforeHaveTheirLagObservedOnce) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-1", kRowX, kT - 10, "Ada");
  v1::ApplyResponse conflict;
  AddPending(conflict, 7, kT - 5, "sql 7");
  AddPending(conflict, 8, kT - 5, "sql 8");
  conflict.mutable_fresh()->add_known_event_ids(
      absl::StrCat("mysql-", kT - 5, "-7"));
  std::vector<v1::ApplyRequest> plans;
  absl::StatusOr<v1::ResolveResponse> response =
      ResolveThrough(request, conflict, plans);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(plans[1].consumed_capture_ids(), ElementsAre(7, 8));
  EXPECT_EQ(response->results(0).status(), "stale");
  EXPECT_EQ(test::Samples(registry_, "sheetsync_capture_lag_seconds")[""], 1);
}

// A poller's claimed SQL edit (capture 9) meets an older pending one of the
// same cell (capture 5: another poller leased it, or it committed late):
// merged in the order SQL made them, both win in turn, and nothing is
// written back. Merged the other way, 5 would lose to 9 and 9's captured
// text would be written back over what SQL wrote (inexact for FLOAT, BIT).
TEST_F(ResolverTest, AClaimedAndAnOlderPendingCaptureMergeInCaptureOrder) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = CapturedName(9, kT, "new");
  request.add_consumed_capture_ids(9);
  v1::ApplyResponse conflict;
  AddPending(conflict, 5, kT - 1, "old");
  std::vector<v1::ApplyRequest> plans;
  absl::StatusOr<v1::ResolveResponse> response =
      ResolveThrough(request, conflict, plans);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(plans[1].rows_size(), 1);
  EXPECT_EQ(plans[1].rows(0).cell_upserts().at("name").value().text(), "new");
  EXPECT_TRUE(plans[1].rows(0).table_values().empty())
      << plans[1].rows(0).DebugString();
  EXPECT_EQ(response->results(0).status(), "applied");
}

// A row the plan wrote that the fresh state lacks (pruned meanwhile) is
// planned again as absent, not against the rev read before.
TEST_F(ResolverTest, APlannedRowMissingFromTheFreshStateIsAbsent) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-3", kRowX, kT, "Cy");

  v1::ReadStateResponse stored;
  *stored.add_rows() = RowWithName(kRowX, 4, "e-old", kT - 5, "Old");
  ExpectRead(stored);
  v1::ApplyResponse conflict;
  conflict.set_conflict(true);
  std::vector<v1::ApplyRequest> plans;
  ExpectApplies(conflict, v1::ApplyResponse(), plans);

  absl::StatusOr<v1::ResolveResponse> response = resolver_.Resolve(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].rows(0).expected_rev(), 4);
  EXPECT_EQ(plans[1].rows(0).expected_rev(), 0);
  EXPECT_EQ(response->results(0).status(), "applied");
}

class UnreadResolverTest : public ResolverTest {
 protected:
  UnreadResolverTest() : ResolverTest(ReadPolicy::Mode::kNever) {}
};

TEST_F(UnreadResolverTest, NewRowsCommitWithoutARead) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-1", kRowX, kT, "Ada");
  EXPECT_CALL(writer_, ReadState(_, _, _)).Times(0);
  v1::ApplyRequest plan;
  EXPECT_CALL(writer_, Apply(_, _, _))
      .WillOnce(DoAll(SaveArgPointee<1>(&plan), Return(grpc::Status::OK)));
  absl::StatusOr<v1::ResolveResponse> response = resolver_.Resolve(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->results(0).status(), "applied");
  ASSERT_EQ(plan.rows_size(), 1);
  EXPECT_EQ(plan.rows(0).expected_rev(), 0);
  ASSERT_TRUE(plan.has_absent_rows_min_us());  // the commit checks the horizon
  EXPECT_EQ(plan.absent_rows_min_us(), kT);
}

// The guess was wrong: the row holds a newer name and one event is known.
// The second plan is made against what the writer answered.
TEST_F(UnreadResolverTest, AWrongGuessIsPlannedAgainFromTheFreshState) {
  v1::ResolveRequest request;
  request.set_table("users");
  *request.add_changes() = NameChange("e-1", kRowX, kT, "Ada");
  *request.add_changes() = NameChange("e-2", kRowY, kT, "Bob");
  v1::ApplyResponse conflict;
  conflict.set_conflict(true);
  *conflict.mutable_fresh()->add_rows() = RowWithName(kRowX, 3, "e-9", kT + 1, "Newer");
  *conflict.mutable_fresh()->add_rows() = RowWithName(kRowY, 1, "e-2", kT, "Bob");
  conflict.mutable_fresh()->add_known_event_ids("e-2");
  std::vector<v1::ApplyRequest> plans;
  v1::ApplyResponse current;  // the stale change asks for the row back
  v1::StoredRow* row = current.add_current_rows();
  row->set_row_id(kRowX);
  row->set_exists(true);
  (*row->mutable_values())["name"].set_text("Newer");
  EXPECT_CALL(writer_, ReadState(_, _, _)).Times(0);
  ExpectApplies(conflict, current, plans);
  absl::StatusOr<v1::ResolveResponse> response = resolver_.Resolve(request, nullptr);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_THAT(plans[0].new_event_ids(), ElementsAre("e-1", "e-2"));
  EXPECT_THAT(plans[1].new_event_ids(), ElementsAre("e-1"));
  EXPECT_THAT(plans[1].rows(), ::testing::IsEmpty());  // nothing won
  EXPECT_THAT(plans[1].current_row_ids(), ElementsAre(kRowX));
  EXPECT_EQ(response->results(0).status(), "stale");
  EXPECT_EQ(response->results(1).status(), "duplicate");
}

TEST(ReadPolicyTest, ReadsFirstOnceUnreadPlansMostlyFailAndStillTriesNowAndThen) {
  ReadPolicy policy(ReadPolicy::Mode::kAuto);
  EXPECT_FALSE(policy.ReadFirst("users"));  // nothing known: try
  for (int i = 0; i < 16; ++i) policy.Record("users", false);
  int unread = 0;
  for (int i = 0; i < 64; ++i) unread += policy.ReadFirst("users") ? 0 : 1;
  EXPECT_EQ(unread, 4);                      // every 16th batch
  EXPECT_FALSE(policy.ReadFirst("orders"));  // per table
  for (int i = 0; i < 32; ++i) policy.Record("users", true);
  EXPECT_FALSE(policy.ReadFirst("users"));
  EXPECT_TRUE(ReadPolicy(ReadPolicy::Mode::kAlways).ReadFirst("users"));
  EXPECT_FALSE(ReadPolicy(ReadPolicy::Mode::kNever).ReadFirst("users"));
  EXPECT_FALSE(ReadPolicy::ParseMode("sometimes").ok());
}

}  // namespace
}  // namespace sheetsync
