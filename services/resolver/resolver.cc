#include "services/resolver/resolver.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/arena.h"
#include "services/common/grpc_util.h"
#include "services/common/merge.h"
#include "services/common/status_macros.h"
#include "services/resolver/results.h"

namespace sheetsync {
namespace {

// One planning attempt: the merge of every change against a stored state.
struct Attempt {
  explicit Attempt(const v1::ReadStateResponse& state) : merger(state) {}
  BatchMerger merger;
  std::vector<ChangeOutcome> outcomes;
  std::vector<ChangeOutcome> pending_outcomes;  // of Call::pending_
};

bool NeedsCurrent(const v1::Change& change, const ChangeOutcome& outcome,
                  BatchMerger& merger) {
  if (outcome.status == MergeStatus::kDuplicate) return false;
  if (outcome.status == MergeStatus::kPartial ||
      outcome.status == MergeStatus::kStale) {
    return true;
  }
  // A delete after which newer cells keep the row alive.
  return change.deleted() && !merger.Row(change.row_id()).cells().empty();
}

// Folds the writer's answer to a conflicting plan into `state`: the plan's
// rows as they are now (gone when absent from `fresh`) and the events it
// found recorded. The other rows and events of the request keep what was
// read before — the plan did not write them, and it must not forget that
// an event was already known.
void Refresh(v1::ReadStateResponse& state, const v1::ApplyRequest& plan,
             v1::ReadStateResponse& fresh) {
  absl::flat_hash_set<std::string> replaced;
  for (const v1::RowWrite& row : plan.rows()) replaced.insert(row.row_id());
  for (const v1::RowState& row : fresh.rows()) replaced.insert(row.row_id());
  auto& rows = *state.mutable_rows();
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](const v1::RowState& row) {
                              return replaced.contains(row.row_id());
                            }),
             rows.end());
  for (v1::RowState& row : *fresh.mutable_rows()) *state.add_rows() = std::move(row);
  for (std::string& id : *fresh.mutable_known_event_ids()) {
    state.add_known_event_ids(std::move(id));
  }
  state.set_pruned_horizon_us(fresh.pruned_horizon_us());
}

// How long to wait before planning again after a conflict: a random
// jitter up to 0.5 ms, doubled after each attempt up to 32 ms, so that
// racing resolvers spread out (a linear 0.5 ms step left 8 writers of
// multi-row batches over 6 rows colliding 16 times in a row, 503).
absl::Duration RetryDelay(int attempt) {
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> jitter_us(0, 500 << std::min(attempt, 6));
  return absl::Microseconds(jitter_us(rng));
}

}  // namespace

// One Resolve: reads the stored state (unless the read policy guesses it
// away), plans, and has the writer commit, planning again after a conflict.
// Each writer call's answer continues it on the loop's thread; no thread
// waits. Deletes itself when done.
class Resolver::Call {
 public:
  Call(Resolver& resolver, const v1::ResolveRequest& request,
       const grpc::ServerContextBase* parent, v1::ResolveResponse* response,
       Done done)
      : resolver_(resolver),
        request_(request),
        parent_(parent),
        response_(response),
        done_(std::move(done)),
        arena_(request.GetArena() != nullptr ? request.GetArena() : &own_arena_),
        state_(google::protobuf::Arena::CreateMessage<v1::ReadStateResponse>(arena_)) {}

  // Gets the table's schema, then reads.
  void Start();

 private:
  // Reads the stored state of the rows (unless the read policy skips it),
  // then plans.
  void Read();
  // Starts the next attempt: merges every change against `state_` and sends
  // the plan to the writer.
  void Plan();
  void OnApplied(const grpc::Status& status);
  void Answer();
  // Deletes the call and hands `status` on.
  void End(absl::Status status);
  grpc::ClientContext& NewContext();

  Resolver& resolver_;
  const v1::ResolveRequest& request_;
  const grpc::ServerContextBase* const parent_;
  v1::ResolveResponse* const response_;
  Done done_;
  // The messages of the call (the state read, each attempt's plan and
  // answer) live on the request's arena, or this one.
  google::protobuf::Arena own_arena_;
  google::protobuf::Arena* const arena_;
  v1::ReadStateResponse* const state_;
  std::shared_ptr<const v1::TableSchema> schema_;
  bool unread_ = false;  // the first plan was made without reading
  int attempt_ = 0;
  std::optional<Attempt> plan_;
  // Rows whose values MySQL refused: their changes are rejected, and the
  // others planned again without them.
  absl::flat_hash_map<std::string, v1::RefusedRow> refused_;
  // Captured SQL edits of the request's rows that no poller had merged when
  // a plan met them (ApplyResponse.pending_captures): merged in from then on
  // and consumed by the commit. They live in earlier answers on the arena.
  std::vector<const v1::CapturedChange*> pending_;
  absl::flat_hash_set<int64_t> pending_ids_;
  v1::ApplyRequest* apply_ = nullptr;
  v1::ApplyResponse* applied_ = nullptr;
  std::unique_ptr<grpc::ClientContext> context_;
};

grpc::ClientContext& Resolver::Call::NewContext() {
  context_ = std::make_unique<grpc::ClientContext>();
  SetDeadline(*context_, resolver_.options_.writer_timeout, parent_);
  return *context_;
}

void Resolver::Call::Start() {
  resolver_.schemas_.Get(request_.table(), [this](absl::StatusOr<SchemaCache::Schema> schema) {
    if (!schema.ok()) return End(schema.status());
    schema_ = *std::move(schema);
    Read();
  });
}

void Resolver::Call::Read() {
  // Unread, the first plan assumes nothing is stored and nothing pruned; the
  // commit's checks (revs, known events, the horizon) refuse it otherwise.
  unread_ = !resolver_.read_policy_.ReadFirst(request_.table());
  if (unread_) return Plan();
  auto& read =
      *google::protobuf::Arena::CreateMessage<v1::ReadStateRequest>(arena_);
  read.set_table(request_.table());
  absl::flat_hash_set<absl::string_view> seen_rows;
  for (const v1::Change& change : request_.changes()) {
    if (seen_rows.insert(change.row_id()).second)
      read.add_row_ids(change.row_id());
    read.add_event_ids(change.event_id());
  }
  resolver_.loop_.Call(resolver_.writer_,
                       &v1::Writer::StubInterface::PrepareAsyncReadState,
                       "/sheetsync.v1.Writer/ReadState", &NewContext(), read,
                       state_, [this](grpc::Status status) {
                         if (!status.ok()) return End(FromGrpcStatus(status));
                         Plan();
                       });
}

void Resolver::Call::Plan() {
  plan_.emplace(*state_);
  apply_ = google::protobuf::Arena::CreateMessage<v1::ApplyRequest>(arena_);
  applied_ = google::protobuf::Arena::CreateMessage<v1::ApplyResponse>(arena_);
  v1::ApplyRequest& apply = *apply_;
  apply.set_table(request_.table());
  if (!request_.changes().empty()) {
    apply.set_source(request_.changes(0).source());
    apply.set_origin(request_.changes(0).origin());
  }
  // Captured SQL edits in the order they were made: a sheet's changes after
  // the pending ones (which the commit found already in MySQL); a poller's
  // claimed ones and the pending ones by capture id, so that none loses to
  // a later edit of the same cell and has that edit's captured text written
  // back over what SQL wrote.
  plan_->outcomes.resize(request_.changes_size());
  plan_->pending_outcomes.resize(pending_.size());
  auto merge = [&](int i) {
    const v1::Change& change = request_.changes(i);
    plan_->outcomes[i] = refused_.contains(change.row_id())
                             ? ChangeOutcome()  // answered as rejected
                             : plan_->merger.Merge(change);
  };
  auto merge_pending = [&](int j) {
    plan_->pending_outcomes[j] = plan_->merger.Merge(pending_[j]->change());
  };
  const bool captured =
      apply.source() == v1::MYSQL &&
      request_.consumed_capture_ids_size() == request_.changes_size();
  if (!captured || pending_.empty()) {
    for (int j = 0; j < static_cast<int>(pending_.size()); ++j) {
      merge_pending(j);
    }
    for (int i = 0; i < request_.changes_size(); ++i) merge(i);
  } else {
    // By capture id (no two alike): i >= 0 the request's change i, -1 - j
    // pending_[j].
    std::vector<std::pair<int64_t, int>> order;
    for (int j = 0; j < static_cast<int>(pending_.size()); ++j) {
      order.emplace_back(pending_[j]->capture_id(), -1 - j);
    }
    for (int i = 0; i < request_.changes_size(); ++i) {
      order.emplace_back(request_.consumed_capture_ids(i), i);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [id, k] : order) {
      if (k >= 0) {
        merge(k);
      } else {
        merge_pending(-1 - k);
      }
    }
  }
  absl::flat_hash_set<absl::string_view> current_rows;
  for (int i = 0; i < request_.changes_size(); ++i) {
    const v1::Change& change = request_.changes(i);
    if (!refused_.contains(change.row_id()) &&
        NeedsCurrent(change, plan_->outcomes[i], plan_->merger) &&
        current_rows.insert(change.row_id()).second) {
      apply.add_current_row_ids(change.row_id());
    }
  }
  plan_->merger.BuildPlan(apply);
  if (!pending_.empty() && !captured) {
    // The change log says MYSQL for the rows SQL edited, so that no sheet's
    // feed leaves them out as its own edits (exclude_origin).
    absl::flat_hash_set<absl::string_view> edited;
    for (const v1::CapturedChange* pending : pending_) {
      edited.insert(pending->change().row_id());
    }
    for (v1::RowWrite& row : *apply.mutable_rows()) {
      if (edited.contains(row.row_id())) row.set_log_source(v1::MYSQL);
    }
  }
  *apply.mutable_consumed_capture_ids() = request_.consumed_capture_ids();
  for (const v1::CapturedChange* pending : pending_) {
    apply.add_consumed_capture_ids(pending->capture_id());
  }
  if (apply.rows().empty() && apply.new_event_ids().empty() &&
      apply.current_row_ids().empty() && apply.consumed_capture_ids().empty()) {
    return OnApplied(grpc::Status::OK);  // nothing to commit
  }
  resolver_.loop_.Call(
      resolver_.writer_, &v1::Writer::StubInterface::PrepareAsyncApply,
      "/sheetsync.v1.Writer/Apply", &NewContext(), *apply_, applied_,
      [this](grpc::Status status) { OnApplied(status); });
}

void Resolver::Call::OnApplied(const grpc::Status& status) {
  if (!status.ok()) return End(FromGrpcStatus(status));
  if (unread_ && attempt_ == 0) {
    resolver_.read_policy_.Record(request_.table(), !applied_->conflict());
  }
  if (applied_->has_refused()) {
    // Nothing was written. Once more without that row's changes (a row
    // refused twice would be the writer's error: its changes are left out).
    const std::string row = applied_->refused().row_id();
    if (!refused_.try_emplace(row, applied_->refused()).second) {
      return End(absl::InternalError(absl::StrCat(
          "the writer refused row ", row, " of a plan without it")));
    }
    return Plan();
  }
  if (!applied_->conflict()) return Answer();
  Refresh(*state_, *apply_, *applied_->mutable_fresh());
  for (const v1::CapturedChange& pending : applied_->pending_captures()) {
    if (!absl::c_linear_search(request_.consumed_capture_ids(),
                               pending.capture_id()) &&
        pending_ids_.insert(pending.capture_id()).second) {
      pending_.push_back(&pending);
    }
  }
  if (++attempt_ >= resolver_.options_.max_attempts) {
    return End(absl::AbortedError(
        absl::StrCat("the rows kept changing under ", resolver_.options_.max_attempts,
                     " attempts to commit; retry the request")));
  }
  resolver_.loop_.At(absl::Now() + RetryDelay(attempt_ - 1), [this] { Plan(); });
}

void Resolver::Call::Answer() {
  absl::flat_hash_map<absl::string_view, const v1::StoredRow*> stored;
  for (const v1::StoredRow& row : applied_->current_rows()) {
    stored[row.row_id()] = &row;
  }
  double effective = 0, stale_drops = 0, conflicts = 0, duplicates = 0;
  absl::flat_hash_map<std::string, double> rejected;
  for (int i = 0; i < request_.changes_size(); ++i) {
    const v1::Change& change = request_.changes(i);
    if (auto refused = refused_.find(change.row_id());
        refused != refused_.end()) {
      v1::ChangeResult& result = *response_->add_results();
      result.set_event_id(change.event_id());
      result.set_row_id(change.row_id());
      result.set_status("rejected");
      result.set_code(refused->second.code());
      result.set_error(refused->second.message());
      rejected[result.code()] += 1;
      continue;
    }
    const ChangeOutcome& outcome = plan_->outcomes[i];
    auto row = stored.find(change.row_id());
    *response_->add_results() = BuildResult(
        change, outcome, plan_->merger.Row(change.row_id()),
        row == stored.end() ? nullptr : row->second, *schema_);
    effective += outcome.effective() ? 1 : 0;
    stale_drops += outcome.stale_drops;
    conflicts += outcome.conflicts;
    duplicates += outcome.status == MergeStatus::kDuplicate ? 1 : 0;
  }
  for (const ChangeOutcome& outcome : plan_->pending_outcomes) {
    effective += outcome.effective() ? 1 : 0;
    stale_drops += outcome.stale_drops;
    conflicts += outcome.conflicts;
    duplicates += outcome.status == MergeStatus::kDuplicate ? 1 : 0;
  }
  SyncMetrics& metrics = resolver_.metrics_;
  if (!pending_.empty()) {
    metrics.AddReceived(request_.table(), v1::MYSQL,
                        static_cast<double>(pending_.size()));
    // Merged here rather than by a poller: the same lag, direct write to
    // merged (MySQL's clock stamped it; see CapturePoller).
    // Not a duplicate: merged before, by a poller (or another sheet edit).
    const int64_t now = absl::ToUnixMicros(absl::Now());
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (i < plan_->pending_outcomes.size() &&
          plan_->pending_outcomes[i].status == MergeStatus::kDuplicate) {
        continue;
      }
      metrics.ObserveCaptureLag(
          std::max<int64_t>(0, now - pending_[i]->change().updated_at_us()) /
          1e6);
    }
  }
  metrics.AddApplied(request_.table(), effective);
  metrics.AddStaleDropped(request_.table(), stale_drops);
  metrics.AddConflicts(request_.table(), conflicts);
  metrics.AddDuplicates(request_.table(), duplicates);
  for (const auto& [code, n] : rejected)
    metrics.AddRejected(request_.table(), code, n);
  End(absl::OkStatus());
}

void Resolver::Call::End(absl::Status status) {
  // `done` may free the request's arena, which holds this call's messages.
  Done done = std::move(done_);
  delete this;
  done(std::move(status));
}

Resolver::Resolver(v1::Writer::StubInterface& writer, SchemaCache& schemas,
                   SyncMetrics& metrics, CompletionLoop& loop, ResolverOptions options)
    : writer_(writer),
      schemas_(schemas),
      metrics_(metrics),
      loop_(loop),
      options_(options),
      read_policy_(options.read_first) {}

void Resolver::Resolve(const v1::ResolveRequest& request,
                       const grpc::ServerContextBase* parent,
                       v1::ResolveResponse* response, Done done) {
  (new Call(*this, request, parent, response, std::move(done)))->Start();
}

absl::StatusOr<v1::ResolveResponse> Resolver::Resolve(
    const v1::ResolveRequest& request, const grpc::ServerContextBase* parent) {
  v1::ResolveResponse response;
  absl::Status status;
  absl::Notification resolved;
  Resolve(request, parent, &response, [&](absl::Status s) {
    status = std::move(s);
    resolved.Notify();
  });
  resolved.WaitForNotification();
  RETURN_IF_ERROR(status);
  return response;
}

}  // namespace sheetsync
