// CapturePoller against a writer holding a backlog of captured MySQL edits,
// served over an in-process gRPC channel: a poll that fills its batch is
// followed by the next at once, so a backlog does not drain one batch per
// interval.
#include "services/resolver/capture_poller.h"

#include <deque>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/clock.h"
#include "services/common/completion_loop.h"
#include "services/common/schema_cache.h"
#include "services/resolver/resolver.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "tests/support/registry_samples.h"
#include "tests/unit/resolver/scripted_writer.h"

namespace sheetsync {
namespace {

constexpr int64_t kT = 1764082869000000;

// One table, "users", with `backlog` captured inserts of new rows; it
// leases them out in claim order and counts the claims and the commits.
// A second table, "broken", fails every claim.
class BackloggedWriter : public v1::Writer::Service {
 public:
  explicit BackloggedWriter(int backlog) {
    for (int i = 0; i < backlog; ++i) captured_.push_back(i + 1);
  }

  grpc::Status ListTables(grpc::ServerContext*, const v1::ListTablesRequest*,
                          v1::ListTablesResponse* response) override {
    response->add_tables("broken");
    response->add_tables("users");
    return grpc::Status::OK;
  }

  grpc::Status ClaimCapture(grpc::ServerContext*,
                            const v1::ClaimCaptureRequest* request,
                            v1::ClaimCaptureResponse* response) override {
    if (request->table() == "broken") {
      return grpc::Status(grpc::StatusCode::INTERNAL, "a broken table");
    }
    absl::MutexLock lock(&mu_);
    ++claims_;
    for (const auto& [reason, n] : skip_) {
      (*response->mutable_skipped_by_reason())[reason] = n;
      response->set_skipped(response->skipped() + n);
    }
    skip_.clear();
    while (!captured_.empty() && response->changes_size() < request->limit()) {
      const int id = captured_.front();
      captured_.pop_front();
      v1::CapturedChange* captured = response->add_changes();
      captured->set_capture_id(id);
      captured->set_captured_at_us(kT + id);
      v1::Change& change = *captured->mutable_change();
      change.set_event_id(EventId(id));
      change.set_row_id(absl::StrFormat("00000000-0000-4000-8000-%012d", id));
      change.set_updated_at_us(kT + id);
      change.set_source(v1::MYSQL);
      (*change.mutable_cells())["name"].set_text(absl::StrFormat("n%d", id));
    }
    return grpc::Status::OK;
  }

  grpc::Status ReadState(grpc::ServerContext*,
                         const v1::ReadStateRequest* request,
                         v1::ReadStateResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : request->event_ids()) {  // no row stored yet
      if (known_.contains(id)) response->add_known_event_ids(id);
    }
    return grpc::Status::OK;
  }

  // As the writer: a plan with an event known already is sent back with it.
  grpc::Status Apply(grpc::ServerContext*, const v1::ApplyRequest* plan,
                     v1::ApplyResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : plan->new_event_ids()) {
      if (known_.contains(id)) {
        response->set_conflict(true);
        response->mutable_fresh()->add_known_event_ids(id);
      }
    }
    if (response->conflict()) return grpc::Status::OK;
    known_.insert(plan->new_event_ids().begin(), plan->new_event_ids().end());
    consumed_ += plan->consumed_capture_ids_size();
    return grpc::Status::OK;
  }

  // The edit captured as `id` was merged already (by a sheet edit that met
  // it pending), and is still to be claimed (its poller's lease holds).
  void MergedBefore(int id) {
    absl::MutexLock lock(&mu_);
    known_.insert(EventId(id));
  }
  static std::string EventId(int id) {
    return absl::StrFormat("mysql-%d-%d", kT + id, id);
  }

  int claims() {
    absl::MutexLock lock(&mu_);
    return claims_;
  }
  // The next claim also reports rows skipped for these reasons.
  void SkipNext(std::map<std::string, int> reasons) {
    absl::MutexLock lock(&mu_);
    skip_ = std::move(reasons);
  }
  // Waits up to `timeout` until `n` captured edits were committed.
  bool WaitConsumed(int n, absl::Duration timeout) {
    auto reached = [this, n] { return consumed_ >= n; };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }

 private:
  absl::Mutex mu_;
  std::deque<int> captured_ ABSL_GUARDED_BY(mu_);
  int claims_ ABSL_GUARDED_BY(mu_) = 0;
  int consumed_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> skip_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> known_ ABSL_GUARDED_BY(mu_);  // event ids
};

CapturePollerOptions HourlyBatchesOfTwo() {
  CapturePollerOptions options;
  options.interval = absl::Hours(1);
  options.batch = 2;
  return options;
}

class CapturePollerTest : public ::testing::Test {
 protected:
  // Polls batches of 2 every hour: only a backlog makes a poll follow the
  // first one within the test.
  explicit CapturePollerTest(int backlog = 5)
      : writer_(backlog),
        server_(test::ServeInProcess(writer_)),
        stub_(v1::Writer::NewStub(
            server_->InProcessChannel(grpc::ChannelArguments()))),
        clock_(kT),
        schemas_([](const std::string&) { return test::UsersSchema(); }, clock_,
                 absl::Minutes(1)),
        metrics_(registry_),
        resolver_(*stub_, schemas_, metrics_, loop_, ResolverOptions()),
        poller_(*stub_, resolver_, metrics_, clock_, HourlyBatchesOfTwo()) {
    loop_.Start();
  }
  ~CapturePollerTest() override {
    poller_.Stop();
    server_->Shutdown();
  }

  BackloggedWriter writer_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Writer::Stub> stub_;
  FakeClock clock_;
  SchemaCache schemas_;
  prometheus::Registry registry_;
  SyncMetrics metrics_;
  CompletionLoop loop_;
  Resolver resolver_;
  CapturePoller poller_;
};

TEST_F(CapturePollerTest, ABacklogDrainsWithoutWaitingAnIntervalPerBatch) {
  poller_.Start();
  // Five edits in batches of two: 2, 2, then 1, which ends the backlog.
  ASSERT_TRUE(writer_.WaitConsumed(5, absl::Seconds(30)))
      << "claims so far: " << writer_.claims();
  EXPECT_EQ(writer_.claims(), 3);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(writer_.claims(), 3) << "a batch short of full ends the backlog";
}

// Also when another table's poll fails: it is reported, and does not hide
// the backlog.
TEST_F(CapturePollerTest, APollReportsWhetherATableFilledItsBatch) {
  absl::StatusOr<CapturePoller::Polled> polled = poller_.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_TRUE(absl::IsInternal(polled->failed)) << polled->failed;
  EXPECT_EQ(polled->merged, 2);
  EXPECT_TRUE(polled->backlog);
  polled = poller_.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_TRUE(polled->backlog);
  polled = poller_.PollOnce();
  ASSERT_TRUE(polled.ok()) << polled.status();
  EXPECT_EQ(polled->merged, 1);
  EXPECT_FALSE(polled->backlog);
}

// The captures are stamped by MySQL's clock, which may run ahead of the
// resolver's (here by 1-2 us): the lag is then 0, never negative.
TEST_F(CapturePollerTest, CaptureLagFromAClockAheadIsZero) {
  ASSERT_TRUE(poller_.PollOnce().ok());
  EXPECT_EQ(test::Samples(registry_, "sheetsync_capture_lag_seconds")[""], 2);
  EXPECT_EQ(test::HistogramSums(registry_, "sheetsync_capture_lag_seconds")[""],
            0);
}

// Its merge is then a duplicate, and its lag was observed by the merge that
// took it first.
TEST_F(CapturePollerTest, ACaptureMergedBeforeHasItsLagObservedOnce) {
  writer_.MergedBefore(1);
  ASSERT_TRUE(poller_.PollOnce().ok());
  EXPECT_EQ(test::Samples(registry_, "sheetsync_capture_lag_seconds")[""], 1);
  EXPECT_EQ(
      test::Samples(registry_, "sheetsync_duplicates_total")["table=users"], 1);
}

// Captured rows the writer skipped are counted as rejected by the reason it
// gives (all were invalid_row_id).
TEST_F(CapturePollerTest, SkippedCapturesCountByTheirReason) {
  writer_.SkipNext({{"unknown_column", 1}, {"invalid_row_id", 2}});
  ASSERT_TRUE(poller_.PollOnce().ok());
  std::map<std::string, double> rejected =
      test::Samples(registry_, "sheetsync_rejected_total");
  EXPECT_EQ(rejected["reason=unknown_column,table=users"], 1);
  EXPECT_EQ(rejected["reason=invalid_row_id,table=users"], 2);
}

}  // namespace
}  // namespace sheetsync
