#include "services/common/merge.h"

#include <algorithm>
#include <utility>

namespace sheetsync {
namespace {

const v1::SqlValue* DefaultMarker() {
  static const v1::SqlValue* const marker = [] {
    auto* value = new v1::SqlValue;
    value->set_is_default(true);
    return value;
  }();
  return marker;
}

bool HasTombstone(const v1::RowState& row) { return row.has_tombstone(); }

bool SameVersion(const v1::CellVersion& a, const v1::CellVersion& b) {
  return a.updated_at_us() == b.updated_at_us() && a.event_id() == b.event_id();
}

bool SameValue(const v1::SqlValue& a, const v1::SqlValue& b) {
  return a.is_null() == b.is_null() && (a.is_null() || a.text() == b.text());
}

}  // namespace

const char* MergeStatusName(MergeStatus status) {
  switch (status) {
    case MergeStatus::kApplied:
      return "applied";
    case MergeStatus::kPartial:
      return "partial";
    case MergeStatus::kStale:
      return "stale";
    case MergeStatus::kDuplicate:
      return "duplicate";
  }
  return "stale";
}

bool IsNewer(int64_t ts_a, const std::string& eid_a, int64_t ts_b,
             const std::string& eid_b) {
  if (ts_a != ts_b) return ts_a > ts_b;
  return eid_a > eid_b;  // std::string compares bytewise (char_traits)
}

BatchMerger::BatchMerger(const v1::ReadStateResponse& stored)
    : pruned_horizon_us_(stored.pruned_horizon_us()) {
  for (const v1::RowState& row : stored.rows()) {
    WorkingRow& working = rows_[row.row_id()];
    working.original = google::protobuf::Arena::CreateMessage<v1::RowState>(&arena_);
    working.current = google::protobuf::Arena::CreateMessage<v1::RowState>(&arena_);
    *working.original = row;
    *working.current = row;
  }
  known_events_.insert(stored.known_event_ids().begin(),
                       stored.known_event_ids().end());
}

BatchMerger::WorkingRow& BatchMerger::Working(const std::string& row_id) {
  auto [it, inserted] = rows_.try_emplace(row_id);
  if (inserted) {
    it->second.original = google::protobuf::Arena::CreateMessage<v1::RowState>(&arena_);
    it->second.current = google::protobuf::Arena::CreateMessage<v1::RowState>(&arena_);
    it->second.original->set_row_id(row_id);
    it->second.current->set_row_id(row_id);
  }
  if (!it->second.ordered) {
    it->second.ordered = true;
    row_order_.push_back(row_id);
  }
  return it->second;
}

const v1::RowState& BatchMerger::Row(const std::string& row_id) {
  return *Working(row_id).current;
}

bool BatchMerger::IsDuplicate(const std::string& event_id) const {
  return known_events_.contains(event_id);
}

ChangeOutcome BatchMerger::Merge(const v1::Change& change) {
  ChangeOutcome outcome;
  outcome.deleted = change.deleted();
  if (IsDuplicate(change.event_id())) {
    outcome.status = MergeStatus::kDuplicate;
    return outcome;
  }
  known_events_.insert(change.event_id());
  new_events_.push_back(change.event_id());

  WorkingRow& row = Working(change.row_id());
  const bool nothing_stored =
      row.current->cells().empty() && !HasTombstone(*row.current);
  // A horizon of 0 is "nothing pruned yet" (the column's default), not a
  // pruned tombstone at 1970-01-01: changes stamped then or earlier are
  // valid and must not answer stale on a fresh table.
  if (nothing_stored && pruned_horizon_us_ > 0 &&
      change.updated_at_us() <= pruned_horizon_us_) {
    // A late replay of a row whose tombstone was pruned: never resurrect it.
    outcome.status = MergeStatus::kStale;
    if (change.deleted()) {
      outcome.stale_drops = 1;
    } else {
      for (const auto& [column, value] : change.cells()) {
        outcome.stale.push_back(column);
      }
      std::sort(outcome.stale.begin(), outcome.stale.end());
      outcome.stale_drops = static_cast<int>(outcome.stale.size());
    }
    return outcome;
  }
  if (change.deleted()) {
    MergeDelete(change, row, outcome);
  } else {
    MergeCells(change, row, outcome);
  }
  if (nothing_stored && outcome.effective()) {
    absent_rows_min_us_ = std::min(absent_rows_min_us_.value_or(change.updated_at_us()),
                                   change.updated_at_us());
  }
  return outcome;
}

void BatchMerger::MergeCells(const v1::Change& change, WorkingRow& row,
                             ChangeOutcome& outcome) {
  // Iterate columns in name order so that outcomes are deterministic.
  std::vector<const std::string*> columns;
  for (const auto& [column, value] : change.cells()) columns.push_back(&column);
  std::sort(columns.begin(), columns.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });

  auto& cells = *row.current->mutable_cells();
  const bool existed = !cells.empty();
  const int64_t ts = change.updated_at_us();
  const std::string& eid = change.event_id();
  for (const std::string* column : columns) {
    const v1::SqlValue& value = change.cells().at(*column);
    auto stored = cells.find(*column);
    const bool beats_tombstone = !HasTombstone(*row.current) ||
                                 ts > row.current->tombstone().updated_at_us();
    const bool beats_cell =
        stored == cells.end() || IsNewer(ts, eid, stored->second.updated_at_us(),
                                         stored->second.event_id());
    const bool wins = beats_tombstone && beats_cell;

    // Which stored version did the change meet (for conflict counting)?
    v1::Source met_source = v1::SOURCE_UNSPECIFIED;
    const v1::SqlValue* met_value = nullptr;
    if (stored != cells.end()) {
      met_source = stored->second.source();
      met_value = &stored->second.value();
    } else if (!beats_tombstone) {
      met_source = row.current->tombstone().source();
    }
    if (met_source != v1::SOURCE_UNSPECIFIED && met_source != change.source()) {
      auto base = change.base().find(*column);
      const bool base_mismatch = base != change.base().end() &&
                                 met_value != nullptr &&
                                 !SameValue(base->second, *met_value);
      if (!wins || base_mismatch) ++outcome.conflicts;
    }

    if (!wins) {
      outcome.stale.push_back(*column);
      ++outcome.stale_drops;
      if (change.source() == v1::MYSQL) {
        // What SQL wrote lost: the stored winner goes back in its place (the
        // column's DEFAULT where a newer delete erased the cell). Only this
        // cell: the others hold what SQL wrote, or what won before.
        row.table_values[*column] =
            stored != cells.end() ? &stored->second.value() : DefaultMarker();
        row.touched = true;
      }
      continue;
    }
    v1::CellVersion& version = cells[*column];
    *version.mutable_value() = value;
    version.set_updated_at_us(ts);
    version.set_event_id(eid);
    version.set_source(change.source());
    version.set_origin(change.origin());
    if (change.source() == v1::MYSQL) {
      // MySQL holds this value already, and exactly as SQL wrote it, which
      // the captured text of some types (FLOAT, BIT) is not: never written
      // back (also not an earlier loser's restore of this cell).
      row.table_values.erase(*column);
    } else {
      row.table_values[*column] = &version.value();
    }
    outcome.applied.push_back(*column);
  }

  if (!outcome.applied.empty()) {
    row.touched = true;
    // (Re)created: the other columns get their DEFAULT. Not for a MYSQL edit
    // of a row the engine never deleted (an INSERT, or a row there when the
    // table was registered): MySQL holds it already, as SQL left it.
    if (!existed &&
        (change.source() != v1::MYSQL || HasTombstone(*row.current))) {
      row.replace_row = true;
    }
  }
  if (outcome.stale.empty()) {
    outcome.status = MergeStatus::kApplied;
  } else if (outcome.applied.empty()) {
    outcome.status = MergeStatus::kStale;
  } else {
    outcome.status = MergeStatus::kPartial;
  }
}

void BatchMerger::MergeDelete(const v1::Change& change, WorkingRow& row,
                              ChangeOutcome& outcome) {
  const int64_t ts = change.updated_at_us();
  auto& cells = *row.current->mutable_cells();
  const bool had_cells = !cells.empty();
  const bool had_tombstone = HasTombstone(*row.current);
  const bool covered_by_delete =
      had_tombstone && row.current->tombstone().updated_at_us() >= ts;

  // Erase every cell version at or before the delete (ties go to the delete).
  std::vector<std::string> erased;
  for (const auto& [column, version] : cells) {
    if (version.updated_at_us() <= ts) erased.push_back(column);
  }
  for (const std::string& column : erased) {
    cells.erase(column);
    row.table_values[column] = DefaultMarker();
  }
  // The tombstone always advances to the newest delete, even when the delete
  // erased nothing: a write older than it that arrives later must still lose.
  if (!had_tombstone ||
      IsNewer(ts, change.event_id(), row.current->tombstone().updated_at_us(),
              row.current->tombstone().event_id())) {
    v1::Tombstone* tombstone = row.current->mutable_tombstone();
    tombstone->set_updated_at_us(ts);
    tombstone->set_event_id(change.event_id());
    tombstone->set_source(change.source());
    tombstone->set_origin(change.origin());
    row.touched = true;
  }

  const bool applied =
      !erased.empty() || (!had_cells && !covered_by_delete);
  outcome.status = applied ? MergeStatus::kApplied : MergeStatus::kStale;
  if (!applied) outcome.stale_drops = 1;
  if (applied) row.touched = true;
  if (cells.empty()) {
    row.replace_row = false;
    row.table_values.clear();
  } else if (change.source() == v1::MYSQL) {
    WriteBack(row);  // SQL removed the row, but newer cells survive
  }
}

void BatchMerger::WriteBack(WorkingRow& row) {
  row.touched = true;
  row.replace_row = true;
}

void BatchMerger::BuildPlan(v1::ApplyRequest& request) const {
  if (absent_rows_min_us_.has_value()) {
    request.set_absent_rows_min_us(*absent_rows_min_us_);
  }
  for (const std::string& event_id : new_events_) {
    request.add_new_event_ids(event_id);
  }
  for (const std::string& row_id : row_order_) {
    const WorkingRow& row = rows_.at(row_id);
    if (!row.touched) continue;
    v1::RowWrite& write = *request.add_rows();
    write.set_row_id(row_id);
    write.set_expected_rev(row.original->rev());
    if (HasTombstone(*row.current)) {
      *write.mutable_tombstone() = row.current->tombstone();
    }
    for (const auto& [column, version] : row.current->cells()) {
      auto before = row.original->cells().find(column);
      if (before == row.original->cells().end() ||
          !SameVersion(before->second, version)) {
        (*write.mutable_cell_upserts())[column] = version;
      }
    }
    for (const auto& [column, version] : row.original->cells()) {
      if (!row.current->cells().contains(column)) {
        write.add_cell_erasures(column);
      }
    }
    std::sort(write.mutable_cell_erasures()->begin(),
              write.mutable_cell_erasures()->end());
    write.set_log_change(true);
    if (row.current->cells().empty()) {
      write.set_delete_row(true);
      continue;
    }
    auto& values = *write.mutable_table_values();
    if (row.replace_row) {
      write.set_replace_row(true);
      for (const auto& [column, version] : row.current->cells()) {
        values[column] = version.value();
      }
    } else {
      for (const auto& [column, value] : row.table_values) {
        values[column] = *value;
      }
    }
  }
}

}  // namespace sheetsync
