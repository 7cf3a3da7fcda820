// Group commit: concurrent Apply calls for the same table and origin share
// one MySQL transaction.
//
// At most `max_leaders` transactions run at once. A call that finds them all
// busy waits in a queue; the next call to lead takes every waiting plan that
// fits (same table, source and origin; no row in common with the plans
// already taken; up to `max_rows` rows) and applies them as one combined
// plan: one round trip of statements and one COMMIT for all. When the
// combined plan does not commit cleanly — a row moved, an event was known,
// an error — each plan is applied on its own, so every caller gets exactly
// the answer it would have had alone. With no queue, a call leads at once
// and applies only its own plan: grouping adds no latency at low load.
//
// Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_APPLY_GROUPER_H_
#define SHEETSYNC_SERVICES_WRITER_APPLY_GROUPER_H_

#include <deque>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class ApplyGrouper {
 public:
  using ApplyFn = std::function<absl::StatusOr<v1::ApplyResponse>(const v1::ApplyRequest&)>;
  // Called with the number of plans each combined transaction committed.
  using GroupObserver = std::function<void(int plans)>;

  // `apply` commits one plan (MysqlVersionStore::Apply) and must be
  // thread-safe.
  ApplyGrouper(ApplyFn apply, int max_leaders, int max_rows,
               GroupObserver observer = nullptr);

  absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& request);

  // Returns how many calls wait for a transaction to take them.
  int waiting() const;
  // Returns how many of the max_leaders slots are held.
  int leading() const;

 private:
  struct Waiter {
    explicit Waiter(const v1::ApplyRequest* plan) : request(plan) {}
    const v1::ApplyRequest* request;
    absl::StatusOr<v1::ApplyResponse> result = absl::UnknownError("not applied");
    bool done = false;  // result is set
    bool lead = false;  // holds one of the max_leaders_ slots
    absl::CondVar wake;  // each waiter is woken alone: no thundering herd
  };

  // Removes from the queue and returns the plans the next transaction takes.
  std::vector<Waiter*> TakeGroup() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives the leader slot `from` holds to the oldest waiter not leading, or
  // frees it.
  void PassLead(Waiter& from) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies `group` (outside the lock) and fills in each result.
  void Run(const std::vector<Waiter*>& group);

  const ApplyFn apply_;
  const int max_leaders_;
  const int max_rows_;
  const GroupObserver observer_;
  mutable absl::Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  int leaders_ ABSL_GUARDED_BY(mu_) = 0;  // slots held
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
