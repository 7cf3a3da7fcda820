// The merge rule of the contract (section 1), with no I/O: per-cell
// last-writer-wins on (updated_at, event_id), deletes as tombstones that erase
// every cell version at or before their time, duplicates by event_id.
//
// A BatchMerger starts from the stored state of the rows a batch touches,
// applies the batch's changes one by one (each sees the effect of the ones
// before it) and then says what to write. The final state depends only on the
// multiset of changes, never on their order; the per-change outcome (applied,
// stale, ...) may depend on order, as the contract allows.
//
// Not thread-safe: one BatchMerger per batch.
#ifndef SHEETSYNC_SERVICES_COMMON_MERGE_H_
#define SHEETSYNC_SERVICES_COMMON_MERGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "google/protobuf/arena.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

enum class MergeStatus { kApplied, kPartial, kStale, kDuplicate };

// Returns "applied", "partial", "stale" or "duplicate".
const char* MergeStatusName(MergeStatus status);

struct ChangeOutcome {
  MergeStatus status = MergeStatus::kStale;
  std::vector<std::string> applied;  // cells that won, in column order
  std::vector<std::string> stale;    // cells that lost
  int stale_drops = 0;  // cell writes dropped; a losing delete counts 1
  int conflicts = 0;    // losing or base-mismatched writes against the other source
  bool deleted = false;  // the change was a delete
  // True when the change won a cell or erased (or tombstoned) the row.
  bool effective() const {
    return status == MergeStatus::kApplied || status == MergeStatus::kPartial;
  }
};

// Returns true when version (ts_a, eid_a) is newer than (ts_b, eid_b): time
// first, then event_id bytewise.
bool IsNewer(int64_t ts_a, const std::string& eid_a, int64_t ts_b,
             const std::string& eid_b);

class BatchMerger {
 public:
  // Starts from `stored`, the state the writer read for the batch's rows and
  // event ids. Copies what it needs; `stored` need not outlive the merger.
  explicit BatchMerger(const v1::ReadStateResponse& stored);

  BatchMerger(const BatchMerger&) = delete;
  BatchMerger& operator=(const BatchMerger&) = delete;

  // Merges one validated change into the working state.
  ChangeOutcome Merge(const v1::Change& change);

  // Fills `request` with what must be committed: one RowWrite per row whose
  // stored state or user-table row must change, and the new event ids.
  void BuildPlan(v1::ApplyRequest& request) const;

  // Returns the merged state of a row after the changes merged so far
  // (an empty row when nothing is stored).
  const v1::RowState& Row(const std::string& row_id);

 private:
  struct WorkingRow {
    v1::RowState* original = nullptr;  // on arena_, as is current
    v1::RowState* current = nullptr;
    bool ordered = false;      // listed in row_order_
    bool touched = false;      // some change had an effect or needs write-back
    bool replace_row = false;  // the user-table row must be rewritten whole
    // Columns whose user-table value must be set (winning SHEET values,
    // DEFAULTs of erased cells, and the stored winners of cells a MYSQL edit
    // lost; never a winning MYSQL value, which MySQL holds): the value of the
    // winning version in `current` (whose map never moves a kept cell), or
    // the DEFAULT marker.
    absl::flat_hash_map<std::string, const v1::SqlValue*> table_values;
  };

  WorkingRow& Working(const std::string& row_id);
  bool IsDuplicate(const std::string& event_id) const;
  void MergeCells(const v1::Change& change, WorkingRow& row,
                  ChangeOutcome& outcome);
  void MergeDelete(const v1::Change& change, WorkingRow& row,
                   ChangeOutcome& outcome);
  // Writes the row's whole merged state back to the user table (a MYSQL
  // delete lost to newer cells, so the row SQL removed must come back).
  void WriteBack(WorkingRow& row);

  // The rows' states, copied and merged many times per batch, live on an
  // arena: one block freed at once instead of a malloc per string and cell.
  google::protobuf::Arena arena_;
  absl::flat_hash_map<std::string, WorkingRow> rows_;
  std::vector<std::string> row_order_;  // first-touch order, for stable plans
  absl::flat_hash_set<std::string> known_events_;
  std::vector<std::string> new_events_;
  int64_t pruned_horizon_us_ = 0;
  std::optional<int64_t> absent_rows_min_us_;  // see ApplyRequest
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_MERGE_H_
