#include "services/resolver/resolver.h"

#include <algorithm>
#include <random>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
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

void SleepBeforeRetry(int attempt) {
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> jitter_us(0, 500 * (attempt + 1));
  absl::SleepFor(absl::Microseconds(jitter_us(rng)));
}

}  // namespace

Resolver::Resolver(v1::Writer::StubInterface& writer, SchemaCache& schemas,
                   SyncMetrics& metrics, ResolverOptions options)
    : writer_(writer),
      schemas_(schemas),
      metrics_(metrics),
      options_(options),
      read_policy_(options.read_first) {}

absl::StatusOr<v1::ResolveResponse> Resolver::Resolve(
    const v1::ResolveRequest& request, const grpc::ServerContextBase* parent) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(request.table()));
  // The messages of one request (the state read, each attempt's plan and
  // answer) live on one arena, freed at once when the request is answered.
  google::protobuf::Arena arena;
  // Unread, the first plan assumes nothing is stored and nothing pruned; the
  // commit's checks (revs, known events, the horizon) refuse it otherwise.
  auto& state = *google::protobuf::Arena::CreateMessage<v1::ReadStateResponse>(&arena);
  const bool unread = !read_policy_.ReadFirst(request.table());
  if (!unread) {
    auto& read = *google::protobuf::Arena::CreateMessage<v1::ReadStateRequest>(&arena);
    read.set_table(request.table());
    absl::flat_hash_set<std::string> seen_rows;
    for (const v1::Change& change : request.changes()) {
      if (seen_rows.insert(change.row_id()).second) read.add_row_ids(change.row_id());
      read.add_event_ids(change.event_id());
    }
    grpc::ClientContext context;
    SetDeadline(context, options_.writer_timeout, parent);
    RETURN_IF_ERROR(FromGrpcStatus(writer_.ReadState(&context, read, &state)));
  }

  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    Attempt plan(state);
    auto& apply = *google::protobuf::Arena::CreateMessage<v1::ApplyRequest>(&arena);
    apply.set_table(request.table());
    if (!request.changes().empty()) {
      apply.set_source(request.changes(0).source());
      apply.set_origin(request.changes(0).origin());
    }
    absl::flat_hash_set<std::string> current_rows;
    for (const v1::Change& change : request.changes()) {
      plan.outcomes.push_back(plan.merger.Merge(change));
    }
    for (int i = 0; i < request.changes_size(); ++i) {
      const v1::Change& change = request.changes(i);
      if (NeedsCurrent(change, plan.outcomes[i], plan.merger) &&
          current_rows.insert(change.row_id()).second) {
        apply.add_current_row_ids(change.row_id());
      }
    }
    plan.merger.BuildPlan(apply);
    *apply.mutable_consumed_capture_ids() = request.consumed_capture_ids();

    auto& applied = *google::protobuf::Arena::CreateMessage<v1::ApplyResponse>(&arena);
    if (!apply.rows().empty() || !apply.new_event_ids().empty() ||
        !apply.current_row_ids().empty() ||
        !apply.consumed_capture_ids().empty()) {
      grpc::ClientContext context;
      SetDeadline(context, options_.writer_timeout, parent);
      RETURN_IF_ERROR(FromGrpcStatus(writer_.Apply(&context, apply, &applied)));
    }
    if (unread && attempt == 0) read_policy_.Record(request.table(), !applied.conflict());
    if (applied.conflict()) {
      Refresh(state, apply, *applied.mutable_fresh());
      SleepBeforeRetry(attempt);
      continue;
    }

    absl::flat_hash_map<std::string, const v1::StoredRow*> stored;
    for (const v1::StoredRow& row : applied.current_rows()) {
      stored[row.row_id()] = &row;
    }
    v1::ResolveResponse response;
    double effective = 0, stale_drops = 0, conflicts = 0, duplicates = 0;
    for (int i = 0; i < request.changes_size(); ++i) {
      const v1::Change& change = request.changes(i);
      const ChangeOutcome& outcome = plan.outcomes[i];
      auto row = stored.find(change.row_id());
      *response.add_results() = BuildResult(
          change, outcome, plan.merger.Row(change.row_id()),
          row == stored.end() ? nullptr : row->second, *schema);
      effective += outcome.effective() ? 1 : 0;
      stale_drops += outcome.stale_drops;
      conflicts += outcome.conflicts;
      duplicates += outcome.status == MergeStatus::kDuplicate ? 1 : 0;
    }
    metrics_.AddApplied(request.table(), effective);
    metrics_.AddStaleDropped(request.table(), stale_drops);
    metrics_.AddConflicts(request.table(), conflicts);
    metrics_.AddDuplicates(request.table(), duplicates);
    return response;
  }
  return absl::AbortedError(absl::StrCat(
      "the rows kept changing under ", options_.max_attempts,
      " attempts to commit; retry the request"));
}

}  // namespace sheetsync
