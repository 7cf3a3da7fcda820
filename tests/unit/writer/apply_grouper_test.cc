// ApplyGrouper against a fake store: who gets grouped with whom, what the
// combined plan holds, and that every caller gets the answer it would have
// had alone — also when the combined plan does not commit.
#include "services/writer/apply_grouper.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sheetsync {
namespace {

using ::testing::ElementsAre;

v1::ApplyRequest Plan(std::vector<std::string> rows, const std::string& origin = "sheet-1",
                      const std::string& table = "users") {
  v1::ApplyRequest plan;
  plan.set_table(table);
  plan.set_source(v1::SHEET);
  plan.set_origin(origin);
  for (const std::string& row : rows) {
    plan.add_rows()->set_row_id(row);
    plan.add_new_event_ids(absl::StrCat("event-", row));
    plan.add_current_row_ids(row);
  }
  return plan;
}

std::vector<std::string> RowIds(const v1::ApplyRequest& plan) {
  std::vector<std::string> ids;
  for (const v1::RowWrite& row : plan.rows()) ids.push_back(row.row_id());
  return ids;
}

// A store that records each plan it is given, answers every current row as
// existing with value "v-<row>", and can be held inside its first call.
class FakeStore {
 public:
  absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& plan,
                                          ApplyGrouper::Deadline retry_until,
                                          bool combined) {
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(plan);
      retry_until_.push_back(retry_until);
      combined_.push_back(combined);
    }
    if (hold_first_ && !held_.exchange(true)) {
      entered_.Notify();
      release_.WaitForNotification();
    }
    if (answer_) return answer_(plan);
    v1::ApplyResponse response;
    for (const std::string& id : plan.current_row_ids()) {
      v1::StoredRow* row = response.add_current_rows();
      row->set_row_id(id);
      row->set_exists(true);
      (*row->mutable_values())["name"].set_text("v-" + id);
    }
    return response;
  }

  std::vector<v1::ApplyRequest> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  // The `retry_until` of each call, in the order of seen().
  std::vector<ApplyGrouper::Deadline> retry_until() {
    absl::MutexLock lock(&mu_);
    return retry_until_;
  }
  // Whether each call was a combined plan, in the order of seen().
  std::vector<bool> combined() {
    absl::MutexLock lock(&mu_);
    return combined_;
  }

  bool hold_first_ = false;
  std::atomic<bool> held_{false};
  absl::Notification entered_;
  absl::Notification release_;
  std::function<absl::StatusOr<v1::ApplyResponse>(const v1::ApplyRequest&)> answer_;

 private:
  absl::Mutex mu_;
  std::vector<v1::ApplyRequest> seen_;
  std::vector<ApplyGrouper::Deadline> retry_until_;
  std::vector<bool> combined_;
};

class ApplyGrouperTest : public ::testing::Test {
 protected:
  ApplyGrouper MakeGrouper(int max_leaders, int max_rows = 1000) {
    return ApplyGrouper(
        [this](const v1::ApplyRequest& plan, ApplyGrouper::Deadline retry_until,
               bool combined) {
          return store_.Apply(plan, retry_until, combined);
        },
        max_leaders, max_rows,
        [this](int plans) {
          absl::MutexLock lock(&groups_mu_);
          groups_.push_back(plans);
        });
  }

  // Holds the only leader inside the store with plan `first`, queues
  // `plans` behind it (the i-th with `deadlines[i]`, or none), then lets
  // everything run; returns each queued call's answer.
  std::vector<absl::StatusOr<v1::ApplyResponse>> RunQueued(
      ApplyGrouper& grouper, const std::vector<v1::ApplyRequest>& plans,
      const std::vector<ApplyGrouper::Deadline>& deadlines = {}) {
    store_.hold_first_ = true;
    const v1::ApplyRequest first = Plan({"first"});
    std::thread leader([&] { grouper.Apply(first).IgnoreError(); });
    store_.entered_.WaitForNotification();
    std::vector<absl::StatusOr<v1::ApplyResponse>> answers(plans.size(),
                                                           absl::UnknownError("unset"));
    std::vector<absl::Notification> answered(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) {
      grouper.Apply(
          plans[i],
          [&, i](absl::StatusOr<v1::ApplyResponse> answer) {
            answers[i] = std::move(answer);
            answered[i].Notify();
          },
          i < deadlines.size() ? deadlines[i] : ApplyGrouper::Deadline::max());
    }
    store_.release_.Notify();
    leader.join();
    for (absl::Notification& done : answered) done.WaitForNotification();
    return answers;
  }

  // The sizes of the combined groups the grouper reported so far.
  std::vector<int> groups() {
    absl::MutexLock lock(&groups_mu_);
    return groups_;
  }

  FakeStore store_;
  absl::Mutex groups_mu_;  // the grouper's threads report concurrently
  std::vector<int> groups_ ABSL_GUARDED_BY(groups_mu_);
};

TEST_F(ApplyGrouperTest, AloneAPlanIsAppliedAsItIs) {
  ApplyGrouper grouper = MakeGrouper(4);
  auto answer = grouper.Apply(Plan({"a", "b"}));
  ASSERT_TRUE(answer.ok());
  ASSERT_EQ(store_.seen().size(), 1u);
  EXPECT_THAT(RowIds(store_.seen()[0]), ElementsAre("a", "b"));
  EXPECT_EQ(answer->current_rows_size(), 2);
  EXPECT_TRUE(groups().empty());
}

TEST_F(ApplyGrouperTest, WaitingPlansCommitTogetherAndEachGetsItsOwnRows) {
  ApplyGrouper grouper = MakeGrouper(1);
  auto answers = RunQueued(grouper, {Plan({"a"}), Plan({"b", "c"}), Plan({"d"})});
  const std::vector<v1::ApplyRequest> seen = store_.seen();
  ASSERT_EQ(seen.size(), 2u);  // the held plan, then the three as one
  EXPECT_THAT(RowIds(seen[1]), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(seen[1].new_event_ids(),
              ElementsAre("event-a", "event-b", "event-c", "event-d"));
  EXPECT_THAT(groups(), ElementsAre(3));
  ASSERT_TRUE(answers[1].ok());
  ASSERT_EQ(answers[1]->current_rows_size(), 2);
  EXPECT_EQ(answers[1]->current_rows(0).values().at("name").text(), "v-b");
  EXPECT_EQ(answers[1]->current_rows(1).values().at("name").text(), "v-c");
  ASSERT_TRUE(answers[2].ok());
  EXPECT_EQ(answers[2]->current_rows(0).row_id(), "d");
}

TEST_F(ApplyGrouperTest, PlansSharingARowOrFromAnotherOriginOrTableAreNotCombined) {
  ApplyGrouper grouper = MakeGrouper(1);
  auto answers = RunQueued(grouper, {Plan({"a"}), Plan({"a"}), Plan({"b"}, "sheet-2"),
                                     Plan({"c"}, "sheet-1", "orders"), Plan({"e"})});
  for (const auto& answer : answers) EXPECT_TRUE(answer.ok());
  std::vector<std::vector<std::string>> applied;
  for (const v1::ApplyRequest& plan : store_.seen()) applied.push_back(RowIds(plan));
  EXPECT_THAT(applied, ElementsAre(ElementsAre("first"), ElementsAre("a", "e"),
                                   ElementsAre("a"), ElementsAre("b"), ElementsAre("c")));
}

TEST_F(ApplyGrouperTest, GroupsStopAtTheRowLimit) {
  ApplyGrouper grouper = MakeGrouper(1, /*max_rows=*/3);
  RunQueued(grouper, {Plan({"a", "b"}), Plan({"c", "d"}), Plan({"e"})});
  std::vector<std::vector<std::string>> applied;
  for (const v1::ApplyRequest& plan : store_.seen()) applied.push_back(RowIds(plan));
  EXPECT_THAT(applied, ElementsAre(ElementsAre("first"), ElementsAre("a", "b", "e"),
                                   ElementsAre("c", "d")));
}

// --group_commit_leaders=0: plans are applied one by one, even those
// without rows (a retried request whose events are all known).
TEST_F(ApplyGrouperTest, NoRowLimitMeansNoGrouping) {
  ApplyGrouper grouper = MakeGrouper(1, /*max_rows=*/0);
  RunQueued(grouper, {Plan({"a"}), Plan({}), Plan({})});
  EXPECT_EQ(store_.seen().size(), 4u);
  EXPECT_TRUE(groups().empty());
}

TEST_F(ApplyGrouperTest, ACombinedConflictIsSettledPlanByPlan) {
  // The combined plan conflicts (say "b" moved); alone, only "b" does.
  store_.answer_ = [](const v1::ApplyRequest& plan) -> absl::StatusOr<v1::ApplyResponse> {
    v1::ApplyResponse response;
    for (const v1::RowWrite& row : plan.rows()) {
      if (row.row_id() == "b") response.set_conflict(true);
    }
    return response;
  };
  ApplyGrouper grouper = MakeGrouper(1);
  auto answers = RunQueued(grouper, {Plan({"a"}), Plan({"b"}), Plan({"c"})});
  ASSERT_TRUE(answers[0].ok() && answers[1].ok() && answers[2].ok());
  EXPECT_FALSE(answers[0]->conflict());
  EXPECT_TRUE(answers[1]->conflict());
  EXPECT_FALSE(answers[2]->conflict());
  EXPECT_EQ(store_.seen().size(), 5u);  // held, combined, then a, b, c alone
  EXPECT_TRUE(groups().empty());
}

TEST_F(ApplyGrouperTest, UnreachableMysqlFailsTheWholeGroupAtOnce) {
  store_.answer_ = [](const v1::ApplyRequest&) -> absl::StatusOr<v1::ApplyResponse> {
    return absl::UnavailableError("MySQL is down");
  };
  ApplyGrouper grouper = MakeGrouper(1);
  auto answers = RunQueued(grouper, {Plan({"a"}), Plan({"b"})});
  EXPECT_TRUE(absl::IsUnavailable(answers[0].status()));
  EXPECT_TRUE(absl::IsUnavailable(answers[1].status()));
  EXPECT_EQ(store_.seen().size(), 2u);  // held, combined; nothing plan by plan
}

// The store retries a plan after a lock wait or deadlock only while its
// caller still waits, and a combined plan not at all: the plans then go on
// their own, so one waiting for a locked row holds no other back.
TEST_F(ApplyGrouperTest, ALonePlanIsRetriedUntilItsDeadlineACombinedOneNever) {
  ApplyGrouper grouper = MakeGrouper(1);
  const auto now = std::chrono::system_clock::now();
  const auto soon = now + std::chrono::minutes(1);
  const auto later = now + std::chrono::minutes(2);
  RunQueued(grouper, {Plan({"a"}), Plan({"b"})}, {soon, later});
  ASSERT_EQ(store_.retry_until().size(), 2u);  // the held plan, then a+b
  EXPECT_EQ(store_.retry_until()[0], ApplyGrouper::Deadline::max());
  EXPECT_LT(store_.retry_until()[1], now);
}

TEST_F(ApplyGrouperTest, SettledPlanByPlanEachIsRetriedUntilItsOwnDeadline) {
  store_.answer_ = [](const v1::ApplyRequest& plan) {
    v1::ApplyResponse response;
    response.set_conflict(plan.rows_size() > 1);  // only the combined plan
    return response;
  };
  ApplyGrouper grouper = MakeGrouper(1);
  const auto now = std::chrono::system_clock::now();
  const auto soon = now + std::chrono::minutes(1);
  const auto later = now + std::chrono::minutes(2);
  RunQueued(grouper, {Plan({"c"}), Plan({"d"})}, {soon, later});
  const std::vector<ApplyGrouper::Deadline> seen = store_.retry_until();
  ASSERT_EQ(seen.size(), 4u);  // held, c+d, then c and d alone
  EXPECT_LT(seen[1], now);     // the combined plan, tried once
  EXPECT_EQ(seen[2], soon);
  EXPECT_EQ(seen[3], later);
  // Only the combined plan says so: the store then neither reads the fresh
  // state nor counts its conflict, which the plans alone meet again.
  EXPECT_THAT(store_.combined(), ElementsAre(false, true, false, false));
}

TEST_F(ApplyGrouperTest, APlanWhoseCallerStoppedWaitingIsNotApplied) {
  ApplyGrouper grouper = MakeGrouper(1);
  // Queued behind the held transaction: one whose caller's deadline passes
  // while it waits, one whose caller still waits when it is taken.
  const auto now = std::chrono::system_clock::now();
  auto answers = RunQueued(
      grouper, {Plan({"late"}), Plan({"waiting"})},
      {now - std::chrono::milliseconds(1), now + std::chrono::hours(1)});
  EXPECT_TRUE(absl::IsDeadlineExceeded(answers[0].status()))
      << answers[0].status();
  ASSERT_TRUE(answers[1].ok()) << answers[1].status();
  EXPECT_EQ(answers[1]->current_rows(0).row_id(), "waiting");
  const std::vector<v1::ApplyRequest> seen = store_.seen();
  ASSERT_EQ(seen.size(), 2u);  // the held plan, then the one still awaited
  EXPECT_THAT(RowIds(seen[1]), ElementsAre("waiting"));
}

TEST_F(ApplyGrouperTest,
       PlanByPlanAfterAConflictSkipsCallersThatStoppedWaiting) {
  // The combined plan conflicts, and takes long enough that the first
  // caller's deadline passes before the plans are applied one by one.
  store_.answer_ =
      [](const v1::ApplyRequest& plan) -> absl::StatusOr<v1::ApplyResponse> {
    v1::ApplyResponse response;
    if (plan.rows_size() > 1) {
      absl::SleepFor(absl::Seconds(1));
      response.set_conflict(true);
    }
    return response;
  };
  ApplyGrouper grouper = MakeGrouper(1);
  const auto now = std::chrono::system_clock::now();
  auto answers = RunQueued(
      grouper, {Plan({"soon"}), Plan({"later"})},
      {now + std::chrono::milliseconds(500), now + std::chrono::hours(1)});
  EXPECT_TRUE(absl::IsDeadlineExceeded(answers[0].status()))
      << answers[0].status();
  EXPECT_TRUE(answers[1].ok()) << answers[1].status();
  const std::vector<v1::ApplyRequest> seen = store_.seen();
  ASSERT_EQ(seen.size(), 3u);  // held, combined, then only "later" alone
  EXPECT_THAT(RowIds(seen[2]), ElementsAre("later"));
}

TEST_F(ApplyGrouperTest, ManyConcurrentCallersAllGetTheirAnswers) {
  ApplyGrouper grouper = MakeGrouper(4);
  std::vector<std::thread> callers;
  std::atomic<int> answered{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string row = absl::StrCat("r", t, "-", i);
        auto answer = grouper.Apply(Plan({row}));
        if (answer.ok() && answer->current_rows_size() == 1 &&
            answer->current_rows(0).row_id() == row) {
          ++answered;
        }
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(answered.load(), 400);
  EXPECT_EQ(grouper.leading(), 0);  // no group is left running
  int applied_rows = 0;
  for (const v1::ApplyRequest& plan : store_.seen())
    applied_rows += plan.rows_size();
  EXPECT_EQ(applied_rows, 400);
}

}  // namespace
}  // namespace sheetsync
