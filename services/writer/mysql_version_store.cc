// MysqlVersionStore: reading the version state and applying merge plans.
#include "services/writer/mysql_version_store.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cppconn/resultset.h"
#include "cppconn/resultset_metadata.h"
#include "cppconn/statement.h"
#include "mysql_connection.h"
#include "services/common/coerce.h"
#include "services/common/ids.h"
#include "services/common/status_macros.h"
#include "services/writer/capture_sql.h"
#include "services/writer/mysql_error.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);
constexpr int kDeadlockRetries = 4;
constexpr int kDuplicateKey = 1062;
constexpr int kBadNull = 1048;  // ER_BAD_NULL_ERROR: NULL into a NOT NULL column
constexpr int kUnknownColumn = 1054;

// Thrown inside ApplyOnce when the plan no longer matches the stored state.
struct StaleState {};

// Thrown inside ApplyOnce (after rolling back) when MySQL refused a row's
// user-table values; `row_id` is "" when the statement held several rows.
struct RefusedValues {
  std::string row_id;
  std::string code;
  std::string message;
};

// Returns what ApplyOnce throws when MySQL refused a row's values with `e`
// (no code: not such an error).
RefusedValues Refused(const std::string& row_id, const std::string& key,
                      const sql::SQLException& e) {
  RefusedValues refused{row_id, RefusedValueCode(e.getErrorCode()), ""};
  const std::string mysql =
      absl::StrCat("MySQL error ", e.getErrorCode(), ": ", e.what());
  // The upsert's key guard (AddUserTableWrites) met another row.
  if (e.getErrorCode() == kBadNull &&
      absl::StrContains(e.what(), absl::StrCat("'", key, "'"))) {
    refused.code = "duplicate_value";
    refused.message =
        "another row already holds one of this row's UNIQUE values; change "
        "that value";
  } else if (refused.code == "duplicate_value") {
    refused.message = absl::StrCat(
        "another row already holds one of this row's UNIQUE values; change "
        "that value (",
        mysql, ")");
  } else {
    refused.message =
        absl::StrCat("MySQL refused the row's values (", mysql, ")");
  }
  return refused;
}

std::string Str(sql::ResultSet& rs, const char* column) {
  return std::string(rs.getString(column));
}

// Rows whose user-table values are written with the same column list share
// one multi-row INSERT ... ON DUPLICATE KEY UPDATE.
using ColumnList = std::vector<std::string>;

ColumnList ColumnsToWrite(const v1::RowWrite& row,
                          const v1::TableSchema& schema) {
  ColumnList columns;
  for (const v1::Column& column : schema.columns()) {
    if (column.name() == schema.key_column() || column.read_only()) continue;
    if (row.replace_row() || row.table_values().contains(column.name())) {
      columns.push_back(column.name());
    }
  }
  return columns;
}

// The value a replaced row gets for a column no change wrote.
v1::SqlValue UnwrittenValue(const v1::Column& column) {
  if (!column.nullable() && !column.has_default()) {
    return ImplicitDefault(column);
  }
  v1::SqlValue value;
  value.set_is_default(true);
  return value;
}

// Columns an INSERT must name even when the plan does not write them: NOT
// NULL without a DEFAULT. Strict mode refuses an INSERT ... ON DUPLICATE KEY
// UPDATE that leaves one out before it finds the row exists, so every upsert
// names them with their implicit default (and never updates them).
ColumnList RequiredColumns(const v1::TableSchema& schema) {
  ColumnList columns;
  for (const v1::Column& column : schema.columns()) {
    if (column.name() != schema.key_column() && !column.generated() &&
        !column.nullable() && !column.has_default()) {
      columns.push_back(column.name());
    }
  }
  return columns;
}

// Returns true when the plan writes a column the schema does not list (one
// added since the schema was cached).
bool WritesUnknownColumn(const v1::ApplyRequest& request,
                         const v1::TableSchema& schema) {
  for (const v1::RowWrite& row : request.rows()) {
    for (const auto& [name, value] : row.table_values()) {
      if (FindColumn(schema, name) == nullptr) return true;
    }
  }
  return false;
}

// Returns a column the plan stores a new version of that the table no longer
// has (dropped after the change was validated), or nullptr. Stored versions
// of dropped columns may still be replayed into table_values: not those.
const std::string* NewVersionOfDroppedColumn(const v1::ApplyRequest& request,
                                             const v1::TableSchema& schema) {
  for (const v1::RowWrite& row : request.rows()) {
    for (const auto& [name, version] : row.cell_upserts()) {
      if (FindColumn(schema, name) == nullptr) return &name;
    }
  }
  return nullptr;
}

absl::Status ColumnsChanged(const std::string& table, const std::string& why) {
  return absl::UnavailableError(absl::StrCat(
      "the columns of table `", table, "` changed (", why,
      "); nothing was written, retry"));
}

// The upsert of a plan's _sheetsync_rows rows, conditional on each row's rev
// being the one the plan was made against: a row whose rev moved, or one the
// plan takes for new that exists, sets rev to NULL, which the NOT NULL column
// refuses (the connections are strict), and the statement fails with
// kBadNull. A row the plan takes for stored that is gone would be inserted
// instead: the statement's count of changed rows (1 per insert, 2 per update)
// tells, and `expected_count` is that count when no such row was missing.
struct RowsUpsert {
  std::string sql;
  int64_t expected_count = 0;
  bool updates = false;  // of rows the plan takes for stored
};

RowsUpsert RowsUpsertOf(PooledConnection& conn, const v1::ApplyRequest& request,
                        const std::string& tbl, int64_t now) {
  RowsUpsert upsert;
  std::vector<const v1::RowWrite*> rows;
  for (const v1::RowWrite& row : request.rows()) rows.push_back(&row);
  std::sort(rows.begin(), rows.end(), [](const v1::RowWrite* a, const v1::RowWrite* b) {
    return a->row_id() < b->row_id();
  });
  std::string values;
  for (const v1::RowWrite* row : rows) {
    upsert.expected_count += row->expected_rev() == 0 ? 1 : 2;
    upsert.updates |= row->expected_rev() != 0;
    absl::StrAppend(&values, values.empty() ? "" : ",", "(", tbl, ",");
    AppendLiteral(conn, values, row->row_id());
    absl::StrAppend(&values, ",", row->expected_rev() + 1, ",");
    if (row->has_tombstone()) {
      const v1::Tombstone& t = row->tombstone();
      absl::StrAppend(&values, t.updated_at_us(), ",");
      AppendLiteral(conn, values, t.event_id());
      absl::StrAppend(&values, ",", static_cast<int>(t.source()), ",");
      AppendLiteral(conn, values, t.origin());
    } else {
      values += "NULL,NULL,NULL,NULL";
    }
    absl::StrAppend(&values, ",", now, ")");
  }
  // The other assignments need no condition: a failing statement writes
  // nothing.
  constexpr char kUpdates[] =
      " ON DUPLICATE KEY UPDATE updated_us = VALUES(updated_us), "
      "tomb_us = VALUES(tomb_us), tomb_event = VALUES(tomb_event), "
      "tomb_source = VALUES(tomb_source), tomb_origin = VALUES(tomb_origin), "
      "rev = IF(rev > 0 AND rev = VALUES(rev) - 1, VALUES(rev), NULL)";
  upsert.sql = absl::StrCat(
      "INSERT INTO `_sheetsync_rows` (tbl, row_id, rev, tomb_us, tomb_event, "
      "tomb_source, tomb_origin, updated_us) VALUES ",
      values, kUpdates);
  return upsert;
}

// Adds the plan's cell versions, erasures and change log to `batch`. Each
// statement is appended into one string (the writer's hottest text).
void AddCellWrites(PooledConnection& conn, const v1::ApplyRequest& request,
                   const std::string& tbl, int64_t now, SqlBatch& batch) {
  std::string cells, erasures, log;
  for (const v1::RowWrite& row : request.rows()) {
    const std::string id = Literal(conn, row.row_id());
    for (const auto& [col, v] : row.cell_upserts()) {
      absl::StrAppend(&cells, cells.empty() ? "" : ",", "(", tbl, ",", id, ",");
      AppendLiteral(conn, cells, col);
      cells.push_back(',');
      AppendValueLiteral(conn, cells, v.value());
      absl::StrAppend(&cells, ",", v.updated_at_us(), ",");
      AppendLiteral(conn, cells, v.event_id());
      absl::StrAppend(&cells, ",", static_cast<int>(v.source()), ",");
      AppendLiteral(conn, cells, v.origin());
      cells.push_back(')');
    }
    for (const std::string& col : row.cell_erasures()) {
      absl::StrAppend(&erasures, erasures.empty() ? "" : ",", "(", id, ",");
      AppendLiteral(conn, erasures, col);
      erasures.push_back(')');
    }
    if (row.log_change()) {
      const bool mysql = row.log_source() == v1::MYSQL;
      absl::StrAppend(&log, log.empty() ? "" : ",", "(", tbl, ",", id, ",",
                      static_cast<int>(mysql ? v1::MYSQL : request.source()),
                      ",");
      AppendLiteral(conn, log, mysql ? std::string() : request.origin());
      absl::StrAppend(&log, ",", now, ")");
    }
  }
  if (!cells.empty()) {
    batch.Add(absl::StrCat(
        "INSERT INTO `_sheetsync_cells` (tbl, row_id, col, val, ts_us, "
        "event_id, source, origin) VALUES ",
        cells,
        " ON DUPLICATE KEY UPDATE val = VALUES(val), ts_us = VALUES(ts_us), "
        "event_id = VALUES(event_id), source = VALUES(source), "
        "origin = VALUES(origin)"));
  }
  if (!erasures.empty()) {
    batch.Add(absl::StrCat("DELETE FROM `_sheetsync_cells` WHERE tbl = ", tbl,
                           " AND (row_id, col) IN (", erasures, ")"));
  }
  if (!log.empty()) {
    batch.Add(absl::StrCat(
        "INSERT INTO `_sheetsync_changelog` (tbl, row_id, source, origin, "
        "logged_at_us) VALUES ",
        log));
  }
}

// A user-table row a plan writes: the columns its statement sets (none for
// a delete), and whether it writes the whole row (deleted or replaced).
struct WrittenRow {
  std::string row_id;
  ColumnList columns;
  bool whole = false;
};

// What `row` writes to the user table (nullopt: nothing).
std::optional<WrittenRow> WrittenRowOf(const v1::RowWrite& row,
                                       const v1::TableSchema& schema) {
  if (row.delete_row()) return WrittenRow{row.row_id(), {}, true};
  ColumnList columns = ColumnsToWrite(row, schema);
  if (columns.empty()) return std::nullopt;
  return WrittenRow{row.row_id(), std::move(columns), row.replace_row()};
}

// Whether a pending SQL edit among `response`'s would make the check below
// (PendingCaptureSql) fail `request`: one of a row it writes, deleting or
// inserting it or setting a column it sets. (The writer answers with every
// pending edit of the plan's rows.)
bool HeldBackByPendingEdits(const v1::ApplyRequest& request,
                            const v1::TableSchema& schema,
                            const v1::ApplyResponse& response) {
  for (const v1::CapturedChange& pending : response.pending_captures()) {
    const v1::Change& change = pending.change();
    for (const v1::RowWrite& row : request.rows()) {
      if (row.row_id() != change.row_id()) continue;
      std::optional<WrittenRow> written = WrittenRowOf(row, schema);
      if (!written.has_value()) continue;
      if (change.deleted() || written->whole) return true;
      for (const std::string& column : written->columns) {
        if (change.cells().contains(column)) return true;
      }
    }
  }
  return false;
}

// SQL true when an SQL edit of a row in `written`, captured but not merged
// yet, wrote a column the plan writes (an INSERT or DELETE: any column).
std::string PendingCaptureSql(PooledConnection& conn, const std::string& tbl,
                              const std::vector<WrittenRow>& written) {
  std::vector<std::string> rows;
  for (const WrittenRow& row : written) {
    std::string condition =
        absl::StrCat("row_id = ", Literal(conn, row.row_id));
    if (!row.whole) {
      std::vector<std::string> names;
      for (const std::string& name : row.columns)
        names.push_back(Literal(conn, name));
      absl::StrAppend(&condition,
                      " AND (cols IS NULL OR JSON_OVERLAPS(cols, JSON_ARRAY(",
                      absl::StrJoin(names, ","), ")))");
    }
    rows.push_back(absl::StrCat("(", condition, ")"));
  }
  return absl::StrCat("EXISTS (SELECT 1 FROM `_sheetsync_capture` WHERE tbl = ",
                      tbl, " AND (", absl::StrJoin(rows, " OR "), "))");
}

// Adds the plan's user-table deletes and upserts to `batch`, and notes in
// `rows` the row of each statement it adds ("" for a statement of several
// rows). `row_by_row`: a statement per row, to tell which one MySQL refuses.
// Each row written goes to `written`.
//
// An upsert's ON DUPLICATE KEY UPDATE fires on any UNIQUE key of the table,
// not only the key column: a new row whose e-mail another row holds would
// update that other row. So its first assignment keeps the key when it
// matches and sets it to NULL otherwise, which the key column (NOT NULL)
// refuses: MySQL error 1048 naming the key column.
void AddUserTableWrites(PooledConnection& conn, const v1::ApplyRequest& request,
                        const v1::TableSchema& schema, bool row_by_row,
                        SqlBatch& batch, std::map<int, std::string>& rows,
                        std::vector<WrittenRow>& written) {
  const std::string table = QuoteIdentifier(schema.table());
  const std::string key = QuoteIdentifier(schema.key_column());
  std::vector<std::string> deletes;
  // By the columns updated: the columns inserted (those and the required
  // ones they leave out, never updated) and each row's tuple.
  struct Upsert {
    ColumnList inserted;
    std::vector<std::string> tuples;
    std::vector<std::string> row_ids;
  };
  std::map<ColumnList, Upsert> upserts;
  const ColumnList required = RequiredColumns(schema);
  for (const v1::RowWrite& row : request.rows()) {
    std::optional<WrittenRow> row_written = WrittenRowOf(row, schema);
    if (!row_written.has_value()) continue;
    written.push_back(*std::move(row_written));
    if (row.delete_row()) {
      deletes.push_back(row.row_id());
      continue;
    }
    const ColumnList& columns = written.back().columns;
    Upsert& upsert = upserts[columns];
    if (upsert.inserted.empty()) {
      upsert.inserted = columns;
      for (const std::string& name : required) {
        if (!absl::c_linear_search(columns, name))
          upsert.inserted.push_back(name);
      }
    }
    std::string tuple = "(";
    AppendLiteral(conn, tuple, row.row_id());
    for (const std::string& name : upsert.inserted) {
      tuple.push_back(',');
      auto value = row.table_values().find(name);
      if (value != row.table_values().end() && !value->second.is_default()) {
        AppendValueLiteral(conn, tuple, value->second);
      } else {  // not written, erased by a delete, or only required
        AppendValueLiteral(conn, tuple, UnwrittenValue(*FindColumn(schema, name)));
      }
    }
    tuple += ")";
    upsert.tuples.push_back(std::move(tuple));
    upsert.row_ids.push_back(row.row_id());
  }
  auto add = [&batch, &rows](std::string sql,
                             const std::vector<std::string>& ids) {
    rows[batch.Add(std::move(sql))] = ids.size() == 1 ? ids.front() : "";
  };
  const size_t group = row_by_row ? 1 : std::numeric_limits<size_t>::max();
  for (size_t at = 0; at < deletes.size(); at += group) {
    const std::vector<std::string> ids(
        deletes.begin() + at,
        deletes.begin() + std::min(deletes.size(), at + group));
    add(absl::StrCat("DELETE FROM ", table, " WHERE ", key, " IN ",
                     InList(conn, ids)),
        ids);
  }
  for (const auto& [columns, upsert] : upserts) {
    std::vector<std::string> names;
    std::vector<std::string> updates = {absl::StrCat(
        key, " = IF(", key, " = VALUES(", key, "), ", key, ", NULL)")};
    for (const std::string& name : upsert.inserted) {
      names.push_back(QuoteIdentifier(name));
    }
    for (const std::string& name : columns) {
      const std::string quoted = QuoteIdentifier(name);
      updates.push_back(absl::StrCat(quoted, " = VALUES(", quoted, ")"));
    }
    const std::string head =
        absl::StrCat("INSERT INTO ", table, " (", key, ",",
                     absl::StrJoin(names, ","), ") VALUES ");
    const std::string tail =
        absl::StrCat(" ON DUPLICATE KEY UPDATE ", absl::StrJoin(updates, ","));
    for (size_t at = 0; at < upsert.tuples.size(); at += group) {
      const size_t end = std::min(upsert.tuples.size(), at + group);
      add(absl::StrCat(head,
                       absl::StrJoin(upsert.tuples.begin() + at,
                                     upsert.tuples.begin() + end, ","),
                       tail),
          std::vector<std::string>(upsert.row_ids.begin() + at,
                                   upsert.row_ids.begin() + end));
    }
  }
}

// Adds the query of the rows the plan wants read back into `found`.
void AddCurrentRowsQuery(PooledConnection& conn, const v1::ApplyRequest& request,
                         const v1::TableSchema& schema, SqlBatch& batch,
                         std::map<std::string, v1::StoredRow>* found) {
  std::vector<std::string> ids(request.current_row_ids().begin(),
                               request.current_row_ids().end());
  batch.AddQuery(
      absl::StrCat("SELECT * FROM ", QuoteIdentifier(schema.table()), " WHERE ",
                   QuoteIdentifier(schema.key_column()), " IN ",
                   InList(conn, ids)),
      [&schema, found](sql::ResultSet& rs) {
        // By the columns the table has now: one of the cached schema's may
        // have been dropped since, and asking for it would throw after the
        // batch has committed.
        sql::ResultSetMetaData* meta = rs.getMetaData();
        std::vector<const v1::Column*> columns(meta->getColumnCount() + 1);
        for (size_t i = 1; i < columns.size(); ++i) {
          const std::string label = std::string(meta->getColumnLabel(i));
          for (const v1::Column& column : schema.columns()) {
            if (absl::EqualsIgnoreCase(column.name(), label))
              columns[i] = &column;
          }  // none: a column added since
        }
        while (rs.next()) {
          v1::StoredRow row;
          row.set_exists(true);
          for (size_t i = 1; i < columns.size(); ++i) {
            if (columns[i] == nullptr) continue;
            const std::string& name = columns[i]->name();
            if (name == schema.key_column()) {
              // As the plan names it: a key stored in upper case in a column
              // that ignores case is the plan's lower-case row id.
              const std::string key = std::string(rs.getString(i));
              row.set_row_id(NormalizeRowId(key).value_or(key));
              continue;
            }
            v1::SqlValue& value = (*row.mutable_values())[name];
            if (rs.isNull(i)) {
              value.set_is_null(true);
            } else {
              value.set_text(std::string(rs.getString(i)));
            }
          }
          (*found)[row.row_id()] = std::move(row);
        }
      });
}

}  // namespace

v1::ReadStateResponse MysqlVersionStore::ReadStateOn(
    PooledConnection& conn, const std::string& table,
    const std::vector<std::string>& row_ids,
    const std::vector<std::string>& event_ids) {
  v1::ReadStateResponse response;
  const std::string tbl = Literal(conn, table);
  std::map<std::string, v1::RowState> rows;
  SqlBatch batch;
  if (!row_ids.empty()) {
    // Every row with cells has a _sheetsync_rows row (WriteRows keeps both).
    batch.AddQuery(
        absl::StrCat(
            "SELECT r.row_id, r.rev, r.tomb_us, r.tomb_event, r.tomb_source, "
            "r.tomb_origin, c.col, c.val, c.ts_us, c.event_id, c.source, "
            "c.origin FROM `_sheetsync_rows` r LEFT JOIN `_sheetsync_cells` c "
            "ON c.tbl = r.tbl AND c.row_id = r.row_id "
            "WHERE r.tbl = ",
            tbl, " AND r.row_id IN ", InList(conn, row_ids)),
        [&rows](sql::ResultSet& rs) {
          while (rs.next()) {
            v1::RowState& row = rows[Str(rs, "row_id")];
            row.set_rev(rs.getInt64("rev"));
            if (!rs.isNull("tomb_us")) {
              v1::Tombstone* tombstone = row.mutable_tombstone();
              tombstone->set_updated_at_us(rs.getInt64("tomb_us"));
              tombstone->set_event_id(Str(rs, "tomb_event"));
              tombstone->set_source(static_cast<v1::Source>(rs.getInt("tomb_source")));
              tombstone->set_origin(Str(rs, "tomb_origin"));
            }
            if (rs.isNull("col")) continue;  // a row without cells
            v1::CellVersion& cell = (*row.mutable_cells())[Str(rs, "col")];
            if (rs.isNull("val")) {
              cell.mutable_value()->set_is_null(true);
            } else {
              cell.mutable_value()->set_text(Str(rs, "val"));
            }
            cell.set_updated_at_us(rs.getInt64("ts_us"));
            cell.set_event_id(Str(rs, "event_id"));
            cell.set_source(static_cast<v1::Source>(rs.getInt("source")));
            cell.set_origin(Str(rs, "origin"));
          }
        });
  }
  if (!event_ids.empty()) {
    batch.AddQuery(
        absl::StrCat("SELECT event_id FROM `_sheetsync_events` WHERE tbl = ",
                     tbl, " AND event_id IN ", InList(conn, event_ids)),
        [&response](sql::ResultSet& rs) {
          while (rs.next()) response.add_known_event_ids(Str(rs, "event_id"));
        });
  }
  batch.AddQuery(
      absl::StrCat(
          "SELECT pruned_horizon_us FROM `_sheetsync_tables` WHERE tbl = ",
          tbl),
      [&response](sql::ResultSet& rs) {
        if (rs.next()) response.set_pruned_horizon_us(rs.getInt64(1));
      });
  batch.Run(conn);
  for (auto& [row_id, row] : rows) {
    row.set_row_id(row_id);
    *response.add_rows() = std::move(row);
  }
  return response;
}

absl::StatusOr<v1::ReadStateResponse> MysqlVersionStore::ReadState(
    const v1::ReadStateRequest& request) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  std::vector<std::string> rows(request.row_ids().begin(),
                                request.row_ids().end());
  std::vector<std::string> events(request.event_ids().begin(),
                                  request.event_ids().end());
  try {
    return ReadStateOn(conn, request.table(), rows, events);
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the stored versions");
  }
}

absl::StatusOr<v1::ApplyResponse> MysqlVersionStore::Apply(
    const v1::ApplyRequest& request, const ApplyOptions& options) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(request.table()));
  if (WritesUnknownColumn(request, *schema)) {
    schemas_.Invalidate(request.table());
    ASSIGN_OR_RETURN(schema, schemas_.Get(request.table()));
    if (const std::string* column = NewVersionOfDroppedColumn(request, *schema)) {
      return ColumnsChanged(request.table(),
                            absl::StrCat("`", *column, "` was dropped"));
    }
  }
  absl::Status last;
  const char* retry_reason = nullptr;  // of the attempt that failed last
  bool row_by_row = false;
  for (int attempt = 0; attempt < kDeadlockRetries; ++attempt) {
    if (retry_reason != nullptr) {
      if (options.combined || absl::Now() >= options.retry_until) break;
      if (metrics_ != nullptr) metrics_->AddTxnRetry(retry_reason);
      retry_reason = nullptr;
    }
    ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
    try {
      v1::ApplyResponse response =
          ApplyOnce(conn, request, *schema, row_by_row);
      if (metrics_ != nullptr) metrics_->ObserveBatchRows(request.rows_size());
      return response;
    } catch (RefusedValues& refused) {
      if (refused.row_id.empty() && !row_by_row && !options.combined) {
        // Which row? Once more with each on its own statement (it commits
        // if it was the rows together that MySQL refused, and that is gone
        // now). Finding the row spends no attempt.
        row_by_row = true;
        --attempt;
        continue;
      }
      v1::ApplyResponse response;
      v1::RefusedRow& row = *response.mutable_refused();
      row.set_row_id(std::move(refused.row_id));
      row.set_code(std::move(refused.code));
      row.set_message(std::move(refused.message));
      return response;
    } catch (const StaleState&) {
      // A concurrent commit moved the rows or recorded one of the events;
      // ApplyOnce rolled back. Answer with the fresh state to plan again.
      if (options.combined) {
        v1::ApplyResponse response;
        response.set_conflict(true);
        return response;
      }
      absl::StatusOr<v1::ApplyResponse> response =
          ConflictResponse(conn, request, *schema);
      if (metrics_ != nullptr) {
        const bool pending = response.ok() && HeldBackByPendingEdits(
                                                  request, *schema, *response);
        metrics_->AddTxnRetry(pending ? "pending_capture" : "rev_conflict");
      }
      return response;
    } catch (const sql::SQLException& e) {
      last = MysqlErrorStatus(e, conn, "applying a batch");
      RollbackQuietly(conn);
      if (e.getErrorCode() == kUnknownColumn) {  // dropped since cached
        schemas_.Invalidate(request.table());
        return ColumnsChanged(request.table(), e.what());
      }
      if (!absl::IsAborted(last)) return last;  // nothing was committed
      retry_reason = e.getErrorCode() == 1213 ? "deadlock" : "lock_wait";
    }
  }
  return last;
}

absl::StatusOr<v1::ApplyResponse> MysqlVersionStore::ConflictResponse(
    PooledConnection& conn, const v1::ApplyRequest& request,
    const v1::TableSchema& schema) {
  std::vector<std::string> rows, events;
  for (const v1::RowWrite& row : request.rows()) rows.push_back(row.row_id());
  events.assign(request.new_event_ids().begin(), request.new_event_ids().end());
  v1::ApplyResponse response;
  response.set_conflict(true);
  try {
    *response.mutable_fresh() = ReadStateOn(conn, request.table(), rows, events);
    AddPendingCaptures(conn, schema, rows, request.consumed_capture_ids(),
                       response);
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the state after a conflict");
  }
  return response;
}

v1::ApplyResponse MysqlVersionStore::ApplyOnce(PooledConnection& conn,
                                               const v1::ApplyRequest& request,
                                               const v1::TableSchema& schema,
                                               bool row_by_row) {
  // The whole transaction, COMMIT included, goes to MySQL in one round trip.
  // MySQL stops a batch at its first failing statement, so a plan that no
  // longer matches the stored state must make a statement before COMMIT
  // fail: a moved row's rev, or the first new event's stored_at_us, is NULL
  // then, which the NOT NULL column refuses (the pool's connections are
  // strict: STRICT_ALL_TABLES). An IF on values the server already has costs
  // it next to nothing; a failing subquery, tried in session 3, cost more
  // than the round trip.
  const std::string tbl = Literal(conn, request.table());
  const int64_t now = clock_.NowMicros();
  SqlBatch batch;
  batch.Add("START TRANSACTION");
  bool stale = false;  // a rev moved, the horizon passed, an event is known,
                       // or an SQL edit of a row written waits to be merged
  std::vector<std::string> stale_ifs;  // SQL, any true: the plan is stale
  int rows_at = -1;
  if (!request.rows().empty()) {
    // First, and in key order so that concurrent batches cannot deadlock
    // each other: move each row from the rev the plan was made against to
    // the next. A row whose rev moved meanwhile fails the statement; one
    // that is gone is counted, and the count kept for the check at the end.
    RowsUpsert upsert = RowsUpsertOf(conn, request, tbl, now);
    rows_at = batch.Add(std::move(upsert.sql));
    if (upsert.updates) {
      batch.Add("SET @sheetsync_rows_moved = ROW_COUNT()");
      stale_ifs.push_back(
          absl::StrCat("@sheetsync_rows_moved <> ", upsert.expected_count));
    }
    if (request.has_absent_rows_min_us()) {
      // A plan that brought back a row with nothing stored also needs the
      // pruned-tombstone horizon (0: nothing pruned) to be still older than
      // its changes. Read after the upsert, which a prune's delete of the
      // same row would have had to wait for.
      stale_ifs.push_back(absl::StrCat(
          "EXISTS (SELECT 1 FROM `_sheetsync_tables` WHERE tbl = ", tbl,
          " AND pruned_horizon_us > 0 AND pruned_horizon_us >= ",
          request.absent_rows_min_us(), ")"));
    }
  }
  if (!request.consumed_capture_ids().empty()) {
    for (std::string& statement :
         DeleteCapturedSql(request.consumed_capture_ids())) {
      batch.Add(std::move(statement));
    }
  }
  std::map<int, std::string> user_rows;  // the user-table statements' rows
  std::vector<WrittenRow> written;       // the user-table rows written
  if (!request.rows().empty()) {
    AddCellWrites(conn, request, tbl, now, batch);
    AddUserTableWrites(conn, request, schema, row_by_row, batch, user_rows,
                       written);
  }
  if (!written.empty()) {
    // An SQL edit of a column written here whose capture is not merged yet
    // (its transaction committed before this one took the row's lock,
    // above): the plan did not know it, and writing over it would lose it
    // for good, since a winning SQL value is never written back. The writer
    // answers with the pending edits, for the resolver to merge them in. The
    // plan's own captured edits were deleted above.
    stale_ifs.push_back(PendingCaptureSql(conn, tbl, written));
  }
  const std::string stale_if = absl::StrJoin(stale_ifs, " OR ");
  // Last, once every row the plan writes is locked: the first new event's
  // stored_at_us is NULL when the plan no longer matches.
  int events_at = -1;
  if (!request.new_event_ids().empty()) {
    std::string values;
    for (const std::string& id : request.new_event_ids()) {
      const bool guard = values.empty() && !stale_if.empty();
      absl::StrAppend(&values, values.empty() ? "" : ",", "(", tbl, ",");
      AppendLiteral(conn, values, id);
      if (guard) {
        absl::StrAppend(&values, ",IF(", stale_if, ", NULL, ", now, "))");
      } else {
        absl::StrAppend(&values, ",", now, ")");
      }
    }
    events_at = batch.Add(absl::StrCat(
        "INSERT INTO `_sheetsync_events` (tbl, event_id, stored_at_us) VALUES ",
        values));
  } else if (!stale_if.empty()) {
    // Rows without a new event (the merge touches rows only for new events,
    // so only hand-made plans): the check is read back, and COMMIT waits.
    batch.AddQuery(absl::StrCat("SELECT ", stale_if), [&stale](sql::ResultSet& rs) {
      stale = !rs.next() || rs.getInt(1) != 0;
    });
  }
  const bool commit_in_batch = stale_if.empty() || events_at >= 0;
  std::map<std::string, v1::StoredRow> current;
  if (!request.current_row_ids().empty()) {
    AddCurrentRowsQuery(conn, request, schema, batch, &current);
  }
  if (commit_in_batch) batch.Add("COMMIT");
  try {
    batch.Run(conn);
  } catch (const sql::SQLException& e) {
    // At a user-table statement: MySQL refused a row's values.
    auto user_row = user_rows.find(batch.failed_index());
    if (user_row != user_rows.end()) {
      RefusedValues refused = Refused(user_row->second, schema.key_column(), e);
      if (!refused.code.empty()) {
        RollbackQuietly(conn);
        throw refused;
      }
    }
    // At the rows: a rev moved. At the events: a concurrent batch committed
    // one of them first, or the guard above found the plan stale. Anything
    // else is an error.
    const bool rev_moved =
        batch.failed_index() == rows_at && e.getErrorCode() == kBadNull;
    const bool events_stale =
        batch.failed_index() == events_at &&
        (e.getErrorCode() == kDuplicateKey || e.getErrorCode() == kBadNull);
    if (!rev_moved && !events_stale) throw;
    stale = true;
  }
  if (stale) {
    RollbackQuietly(conn);
    throw StaleState{};
  }
  if (!commit_in_batch) Commit(conn);
  v1::ApplyResponse response;
  AddCurrentRows(
      request,
      [&current](const std::string& id) -> const v1::StoredRow* {
        auto it = current.find(id);
        return it == current.end() ? nullptr : &it->second;
      },
      response);
  return response;
}

}  // namespace sheetsync
