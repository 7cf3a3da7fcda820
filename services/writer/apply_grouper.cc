#include "services/writer/apply_grouper.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/arena.h"
#include "services/writer/version_store.h"

namespace sheetsync {
namespace {

bool SameStream(const v1::ApplyRequest& a, const v1::ApplyRequest& b) {
  return a.table() == b.table() && a.source() == b.source() && a.origin() == b.origin();
}

// Adds the rows `plan` writes or reads back to `rows`; false (and nothing
// added) when one of them is there already. The ids are views into the
// plans, which outlive the group being taken.
using RowIds = absl::flat_hash_set<absl::string_view>;
bool ClaimRows(const v1::ApplyRequest& plan, RowIds& rows) {
  RowIds mine;
  for (const v1::RowWrite& row : plan.rows()) mine.insert(row.row_id());
  for (const std::string& id : plan.current_row_ids()) mine.insert(id);
  for (absl::string_view id : mine) {
    if (rows.contains(id)) return false;
  }
  rows.insert(mine.begin(), mine.end());
  return true;
}

absl::Status PastDeadline() {
  return absl::DeadlineExceededError(
      "the caller's deadline passed before a transaction took the plan; "
      "nothing of it was written");
}

}  // namespace

ApplyGrouper::ApplyGrouper(ApplyFn apply, int max_leaders, int max_rows,
                           GroupObserver observer)
    : apply_(std::move(apply)), max_rows_(max_rows), observer_(std::move(observer)) {
  for (int i = 0; i < std::max(max_leaders, 1); ++i) threads_.emplace_back([this] { Lead(); });
}

ApplyGrouper::~ApplyGrouper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& thread : threads_) thread.join();
}

void ApplyGrouper::Apply(const v1::ApplyRequest& request, Done done,
                         Deadline deadline) {
  auto* waiter = new Waiter{&request, std::move(done), deadline};
  absl::MutexLock lock(&mu_);
  queue_.push_back(waiter);
  work_.Signal();
}

absl::StatusOr<v1::ApplyResponse> ApplyGrouper::Apply(const v1::ApplyRequest& request) {
  absl::StatusOr<v1::ApplyResponse> answer;
  absl::Notification answered;
  Apply(request, [&](absl::StatusOr<v1::ApplyResponse> result) {
    answer = std::move(result);
    answered.Notify();
  });
  answered.WaitForNotification();
  return answer;
}

void ApplyGrouper::Lead() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    while (queue_.empty() && !stopping_) work_.Wait(&mu_);
    if (queue_.empty()) return;  // stopping, and nothing left
    std::vector<Waiter*> expired;
    std::vector<Waiter*> group = TakeGroup(expired);
    ++leaders_;
    mu_.Unlock();
    if (!group.empty()) Run(group);
    mu_.Lock();
    --leaders_;
    mu_.Unlock();
    group.insert(group.end(), expired.begin(), expired.end());
    for (Waiter* waiter : group) {
      waiter->done(std::move(waiter->result));
      delete waiter;
    }
    mu_.Lock();
  }
}

int ApplyGrouper::leading() const {
  absl::MutexLock lock(&mu_);
  return leaders_;
}

int ApplyGrouper::waiting() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

std::vector<ApplyGrouper::Waiter*> ApplyGrouper::TakeGroup(
    std::vector<Waiter*>& expired) {
  std::vector<Waiter*> group;
  RowIds rows;
  int row_count = 0;
  const Deadline now = std::chrono::system_clock::now();
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->deadline <= now) {
      (*it)->result = PastDeadline();
      expired.push_back(*it);
      it = queue_.erase(it);
      continue;
    }
    const v1::ApplyRequest& plan = *(*it)->request;
    const bool fits =
        group.empty() ||
        (max_rows_ > 0 && SameStream(*group.front()->request, plan) &&
         row_count + plan.rows_size() <= max_rows_);
    if (fits && ClaimRows(plan, rows)) {
      row_count += plan.rows_size();
      group.push_back(*it);
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  return group;
}

void ApplyGrouper::Run(const std::vector<Waiter*>& group) {
  if (group.size() > 1) {
    std::vector<const v1::ApplyRequest*> plans;
    for (const Waiter* waiter : group) plans.push_back(waiter->request);
    // The copy of every plan is made on an arena and freed at once.
    google::protobuf::Arena arena;
    auto& plan = *google::protobuf::Arena::CreateMessage<v1::ApplyRequest>(&arena);
    CombinePlans(plans, plan);
    // Tried once: after a lock wait or a deadlock the plans go on their own,
    // so that one plan waiting for a row an SQL session holds does not hold
    // the others back for every retry of the group.
    absl::StatusOr<v1::ApplyResponse> combined =
        apply_(plan, Deadline(), /*combined=*/true);
    if (combined.ok() && !combined->conflict() && !combined->has_refused()) {
      for (Waiter* waiter : group) waiter->result = AnswerFor(*waiter->request, *combined);
      if (observer_) observer_(static_cast<int>(group.size()));
      return;
    }
    if (absl::IsUnavailable(combined.status())) {  // MySQL is out of reach
      for (Waiter* waiter : group) waiter->result = combined.status();
      return;
    }
    // A row moved, an event was known, or MySQL refused a row's values (or
    // failed otherwise): find out whose, by applying each plan on its own.
  }
  for (Waiter* waiter : group) {
    // Plan by plan takes longer: a caller may have stopped waiting meanwhile.
    if (group.size() > 1 &&
        waiter->deadline <= std::chrono::system_clock::now()) {
      waiter->result = PastDeadline();
      continue;
    }
    waiter->result =
        apply_(*waiter->request, waiter->deadline, /*combined=*/false);
  }
}

void CombinePlans(const std::vector<const v1::ApplyRequest*>& plans,
                  v1::ApplyRequest& combined) {
  combined.set_table(plans.front()->table());
  combined.set_source(plans.front()->source());
  combined.set_origin(plans.front()->origin());
  for (const v1::ApplyRequest* plan : plans) {
    combined.mutable_rows()->MergeFrom(plan->rows());
    combined.mutable_new_event_ids()->MergeFrom(plan->new_event_ids());
    combined.mutable_current_row_ids()->MergeFrom(plan->current_row_ids());
    combined.mutable_consumed_capture_ids()->MergeFrom(plan->consumed_capture_ids());
    if (plan->has_absent_rows_min_us() &&
        (!combined.has_absent_rows_min_us() ||
         plan->absent_rows_min_us() < combined.absent_rows_min_us())) {
      combined.set_absent_rows_min_us(plan->absent_rows_min_us());
    }
  }
}

v1::ApplyResponse AnswerFor(const v1::ApplyRequest& plan,
                            const v1::ApplyResponse& combined) {
  v1::ApplyResponse answer;
  if (plan.current_row_ids().empty()) return answer;
  absl::flat_hash_map<std::string, const v1::StoredRow*> rows;
  for (const v1::StoredRow& row : combined.current_rows()) rows[row.row_id()] = &row;
  AddCurrentRows(
      plan,
      [&rows](const std::string& id) -> const v1::StoredRow* {
        auto it = rows.find(id);
        return it == rows.end() ? nullptr : it->second;
      },
      answer);
  return answer;
}

}  // namespace sheetsync
