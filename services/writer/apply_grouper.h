// Group commit: concurrent Apply calls for the same table and origin share
// one MySQL transaction.
//
// `max_leaders` threads of the grouper's own apply the plans, so at most
// that many transactions run at once. Each takes every waiting plan that
// fits (same table, source and origin; no row in common with the plans
// already taken; up to `max_rows` rows) and applies them as one combined
// plan: one round trip of statements and one COMMIT for all. When the
// combined plan does not commit cleanly — a row moved, an event was known,
// an error — each plan is applied on its own, so every caller gets exactly
// the answer it would have had alone. With no queue, a plan is applied as
// soon as it arrives, on its own: grouping adds no latency at low load.
// A plan whose caller's deadline has passed by the time a transaction would
// take it is answered DEADLINE_EXCEEDED unapplied: under overload, MySQL only
// works for callers that still wait.
//
// A thread that finishes a transaction takes the next group at once, so no
// thread has to wake up between two transactions, and callers do not wait
// on threads of their own (the gRPC callback API finishes them from here).
//
// Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_APPLY_GROUPER_H_
#define SHEETSYNC_SERVICES_WRITER_APPLY_GROUPER_H_

#include <chrono>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class ApplyGrouper {
 public:
  using Deadline = std::chrono::system_clock::time_point;
  // `combined`: the plan combines several callers'
  // (VersionStore::ApplyOptions).
  using ApplyFn = std::function<absl::StatusOr<v1::ApplyResponse>(
      const v1::ApplyRequest&, Deadline retry_until, bool combined)>;
  // Called with the number of plans each combined transaction committed.
  using GroupObserver = std::function<void(int plans)>;
  using Done = std::function<void(absl::StatusOr<v1::ApplyResponse>)>;

  // `apply` commits one plan (MysqlVersionStore::Apply, retrying after a
  // lock wait or deadlock until `retry_until`: a lone plan's caller's
  // deadline; never for a combined plan, which is then applied plan by plan)
  // and must be thread-safe. Starts
  // `max_leaders` threads (at least one); `max_rows` 0 never combines plans.
  ApplyGrouper(ApplyFn apply, int max_leaders, int max_rows,
               GroupObserver observer = nullptr);
  // Applies what is queued, then stops the threads.
  ~ApplyGrouper();
  ApplyGrouper(const ApplyGrouper&) = delete;
  ApplyGrouper& operator=(const ApplyGrouper&) = delete;

  // Queues `request`; one of the grouper's threads applies it and calls
  // `done` with its answer. `request` must stay valid until then. Not
  // applied (DEADLINE_EXCEEDED) when no transaction took it before
  // `deadline` (a gRPC caller's ServerContext::deadline()).
  void Apply(const v1::ApplyRequest& request, Done done,
             Deadline deadline = Deadline::max());
  // The same, waiting for the answer.
  absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& request);

  // Returns how many calls wait for a transaction to take them.
  int waiting() const;
  // Returns how many groups are being applied.
  int leading() const;

 private:
  struct Waiter {
    const v1::ApplyRequest* request;
    Done done;
    Deadline deadline;
    absl::StatusOr<v1::ApplyResponse> result = absl::UnknownError("not applied");
  };

  // A thread's loop: takes groups and applies them until stopped.
  void Lead();
  // Removes from the queue and returns the plans the next transaction takes,
  // and moves those whose deadline has passed to `expired`, answered.
  std::vector<Waiter*> TakeGroup(std::vector<Waiter*>& expired)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `group` (outside the lock) and fills in each result.
  void Run(const std::vector<Waiter*>& group);

  const ApplyFn apply_;
  const int max_rows_;
  const GroupObserver observer_;
  mutable absl::Mutex mu_;
  absl::CondVar work_;  // signalled when a plan is queued or on stopping
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  int leaders_ ABSL_GUARDED_BY(mu_) = 0;  // threads applying a group
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Fills `combined` (empty; it may live on an arena) with one plan doing
// everything `plans` do (all for one table, source and origin, with no row
// in common).
void CombinePlans(const std::vector<const v1::ApplyRequest*>& plans,
                  v1::ApplyRequest& combined);

// Returns the answer to `plan` out of the answer to a combined plan that
// included it: the current rows it asked for.
v1::ApplyResponse AnswerFor(const v1::ApplyRequest& plan,
                            const v1::ApplyResponse& combined);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_APPLY_GROUPER_H_
