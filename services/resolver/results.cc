#include "services/resolver/results.h"

#include <vector>

#include "services/common/coerce.h"
#include "services/common/metrics.h"
#include "services/common/schema_cache.h"
#include "services/common/time_format.h"

namespace sheetsync {
namespace {

v1::VersionInfo Info(v1::Source source, const std::string& origin,
                     int64_t updated_at_us) {
  v1::VersionInfo info;
  info.set_source(SourceName(source));
  info.set_origin(origin);
  info.set_updated_at(FormatRfc3339Micros(updated_at_us));
  return info;
}

// Adds the stored winner of `column` to current_versions, when there is one.
void AddVersion(const v1::RowState& merged, const std::string& column,
                v1::ChangeResult& result) {
  auto cell = merged.cells().find(column);
  if (cell != merged.cells().end()) {
    (*result.mutable_current_versions())[column] =
        Info(cell->second.source(), cell->second.origin(),
             cell->second.updated_at_us());
  } else if (merged.has_tombstone()) {
    const v1::Tombstone& t = merged.tombstone();
    (*result.mutable_current_versions())[column] =
        Info(t.source(), t.origin(), t.updated_at_us());
  }
}

// Sets `current` to the stored values of `columns` (or null + deleted when
// the row does not exist).
void SetCurrent(const std::vector<std::string>& columns,
                const v1::RowState& merged, const v1::StoredRow* stored,
                const v1::TableSchema& schema, v1::ChangeResult& result) {
  if (stored == nullptr || !stored->exists()) {
    result.mutable_current()->set_null_value(google::protobuf::NULL_VALUE);
    result.set_deleted(true);
    for (const std::string& column : columns) AddVersion(merged, column, result);
    return;
  }
  auto& fields = *result.mutable_current()->mutable_struct_value()->mutable_fields();
  for (const std::string& name : columns) {
    const v1::Column* column = FindColumn(schema, name);
    auto value = stored->values().find(name);
    if (column == nullptr || value == stored->values().end()) continue;
    fields[name] = SqlToJson(*column, value->second);
    AddVersion(merged, name, result);
  }
}

}  // namespace

v1::ChangeResult BuildResult(const v1::Change& change,
                             const ChangeOutcome& outcome,
                             const v1::RowState& merged,
                             const v1::StoredRow* stored,
                             const v1::TableSchema& schema) {
  v1::ChangeResult result;
  result.set_event_id(change.event_id());
  result.set_row_id(change.row_id());
  result.set_status(MergeStatusName(outcome.status));
  if (outcome.status == MergeStatus::kDuplicate) return result;
  for (const std::string& column : outcome.applied) result.add_applied(column);
  for (const std::string& column : outcome.stale) result.add_stale(column);
  if (!change.deleted()) {
    if (!outcome.stale.empty()) {
      SetCurrent(outcome.stale, merged, stored, schema, result);
    }
    return result;
  }
  // A stale delete, or one after which the row still exists, shows the whole
  // row (every non-key column).
  const bool row_alive = !merged.cells().empty();
  if (outcome.status == MergeStatus::kStale || row_alive) {
    std::vector<std::string> columns;
    for (const v1::Column& column : schema.columns()) {
      if (column.name() != schema.key_column()) columns.push_back(column.name());
    }
    SetCurrent(columns, merged, stored, schema, result);
  }
  return result;
}

}  // namespace sheetsync
