// MysqlVersionStore: the change feed and the snapshot of live rows.
//
// Every commit appends one _sheetsync_changelog entry per changed row, with
// an AUTO_INCREMENT id but no feed position (seq). Ids are handed out before
// commit, so they can become visible out of order; a reader that paged by id
// could jump over a late commit. Sequence() instead gives positions, under a
// per-table lock, to entries in the order they become visible, and readers
// page by position only: a position is never given to an entry older than
// one a reader may already have passed.
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cppconn/resultset.h"
#include "cppconn/statement.h"
#include "services/common/coerce.h"
#include "services/common/grpc_util.h"
#include "services/common/ids.h"
#include "services/common/metrics.h"
#include "services/common/status_macros.h"
#include "services/common/time_format.h"
#include "services/writer/mysql_error.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);
constexpr int kSequenceBatch = 5000;

// User-table rows as JSON cells (every column but the key), in the order
// read, by their normalised row id.
struct CellRows {
  std::vector<std::pair<std::string, google::protobuf::Struct>> rows;
  int read = 0;          // rows MySQL returned, also those skipped
  std::string last_key;  // the key of the last one, as stored
};

// Reads the user-table rows that `where` selects. A row whose key is not a
// UUID never syncs: it is skipped (but counted in `read`).
CellRows ReadCells(PooledConnection& conn, const v1::TableSchema& schema,
                   const std::string& where) {
  CellRows out;
  auto rs = Query(conn, absl::StrCat("SELECT * FROM ", QuoteIdentifier(schema.table()),
                                     " WHERE ", where));
  while (rs->next()) {
    ++out.read;
    out.last_key = std::string(rs->getString(schema.key_column()));
    absl::StatusOr<std::string> id =
        RowIdOfStoredKey(out.last_key, schema.key_case_sensitive());
    if (!id.ok()) continue;
    google::protobuf::Struct cells;
    for (const v1::Column& column : schema.columns()) {
      if (column.name() == schema.key_column()) continue;
      v1::SqlValue value;
      if (rs->isNull(column.name())) {
        value.set_is_null(true);
      } else {
        value.set_text(std::string(rs->getString(column.name())));
      }
      (*cells.mutable_fields())[column.name()] = SqlToJson(column, value);
    }
    out.rows.emplace_back(*std::move(id), std::move(cells));
  }
  return out;
}

}  // namespace

void MysqlVersionStore::Sequence(PooledConnection& conn,
                                 const std::string& table) {
  const std::string tbl = Literal(conn, table);
  for (;;) {
    Begin(conn);
    int64_t next = QueryInt(
        conn, absl::StrCat(
                  "SELECT next_seq FROM `_sheetsync_tables` WHERE tbl = ", tbl,
                  " FOR UPDATE"));
    // A plain read under READ COMMITTED: only committed entries, no waiting.
    auto rs = Query(
        conn,
        absl::StrCat("SELECT id FROM `_sheetsync_changelog` WHERE tbl = ", tbl,
                     " AND seq IS NULL ORDER BY id LIMIT ", kSequenceBatch));
    std::vector<std::string> cases;
    std::vector<int64_t> ids;
    while (rs->next()) {
      ids.push_back(rs->getInt64(1));
      cases.push_back(absl::StrCat("WHEN ", ids.back(), " THEN ", ++next));
    }
    if (!ids.empty()) {
      Execute(conn,
              absl::StrCat("UPDATE `_sheetsync_changelog` SET seq = CASE id ",
                           absl::StrJoin(cases, " "), " END WHERE id IN (",
                           absl::StrJoin(ids, ","), ")"));
      Execute(conn, absl::StrCat("UPDATE `_sheetsync_tables` SET next_seq = ",
                                 next, " WHERE tbl = ", tbl));
    }
    Commit(conn);
    if (ids.size() < static_cast<size_t>(kSequenceBatch)) return;
  }
}

absl::StatusOr<v1::ReadFeedResponse> MysqlVersionStore::ReadFeed(
    const v1::ReadFeedRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   CurrentSchema(request.table()));
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  const std::string tbl = Literal(conn, request.table());
  v1::ReadFeedResponse response;
  try {
    Sequence(conn, request.table());
    const int limit = std::max(1, request.limit());
    auto rs =
        Query(conn, absl::StrCat("SELECT seq, row_id, source, origin FROM "
                                 "`_sheetsync_changelog` WHERE tbl = ",
                                 tbl, " AND seq > ", request.since_seq(),
                                 " ORDER BY seq LIMIT ", limit + 1));
    struct Seen {
      int64_t last_seq = 0;
      v1::Source source = v1::SOURCE_UNSPECIFIED;
      std::string origin;
      bool only_excluded = true;
    };
    std::map<std::string, Seen> rows;
    int read = 0;
    response.set_next_seq(request.since_seq());
    while (rs->next()) {
      if (++read > limit) {
        response.set_has_more(true);
        break;
      }
      Seen& seen = rows[std::string(rs->getString("row_id"))];
      seen.last_seq = rs->getInt64("seq");
      seen.source = static_cast<v1::Source>(rs->getInt("source"));
      seen.origin = std::string(rs->getString("origin"));
      seen.only_excluded = seen.only_excluded && request.has_exclude_origin() &&
                           seen.source == v1::SHEET &&
                           seen.origin == request.exclude_origin();
      response.set_next_seq(seen.last_seq);
    }
    // Checked after the read: a prune that committed before it shows here,
    // and one that commits after it removed nothing this page holds.
    rs = Query(
        conn,
        absl::StrCat(
            "SELECT pruned_seq, next_seq FROM `_sheetsync_tables` WHERE tbl = ",
            tbl));
    const bool found = rs->next();
    if (found && request.since_seq() < rs->getInt64(1)) {
      return absl::FailedPreconditionError(absl::StrCat(
          kCursorExpired,
          ": the change log before this cursor was pruned; resync from GET "
          "/v1/rows"));
    }
    // No position handed out is ever past next_seq: such a cursor is forged
    // or from before the database was restored from a backup, and reading on
    // from it would skip every change up to it.
    if (found && request.since_seq() > rs->getInt64(2)) {
      return absl::FailedPreconditionError(absl::StrCat(
          kCursorExpired,
          ": this cursor is ahead of the change log (restored from a backup?); "
          "resync from GET /v1/rows"));
    }
    std::vector<std::string> ids;
    for (const auto& [id, seen] : rows) {
      if (!seen.only_excluded) ids.push_back(id);
    }
    if (ids.empty()) return response;
    const std::string in = InList(conn, ids);
    std::map<std::string, google::protobuf::Struct> cells;
    for (auto& [id, row] :
         ReadCells(
             conn, *schema,
             absl::StrCat(QuoteIdentifier(schema->key_column()), " IN ", in))
             .rows) {
      cells[id] = std::move(row);
    }
    std::map<std::string, int64_t> times;
    rs = Query(
        conn,
        absl::StrCat(
            // The later of the tombstone and the newest cell, either of which
            // may be missing (and times may be before 1970).
            "SELECT r.row_id, GREATEST(COALESCE(r.tomb_us, MAX(c.ts_us)), "
            "COALESCE(MAX(c.ts_us), r.tomb_us)) "
            "FROM `_sheetsync_rows` r LEFT JOIN `_sheetsync_cells` c "
            "ON c.tbl = r.tbl AND c.row_id = r.row_id WHERE r.tbl = ",
            tbl, " AND r.row_id IN ", in, " GROUP BY r.row_id, r.tomb_us"));
    while (rs->next()) times[std::string(rs->getString(1))] = rs->getInt64(2);
    // Entries in feed order: by the position of each row's last change.
    std::vector<std::pair<int64_t, std::string>> order;
    for (const std::string& id : ids) order.emplace_back(rows[id].last_seq, id);
    std::sort(order.begin(), order.end());
    for (const auto& [seq, id] : order) {
      v1::FeedEntry& entry = *response.add_changes();
      entry.set_row_id(id);
      entry.set_updated_at(FormatRfc3339Micros(times[id]));
      auto found = cells.find(id);
      if (found == cells.end()) {
        entry.set_deleted(true);
        entry.mutable_cells();
      } else {
        *entry.mutable_cells() = std::move(found->second);
      }
      entry.set_source(SourceName(rows[id].source));
      entry.set_origin(rows[id].source == v1::MYSQL ? "" : rows[id].origin);
    }
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "reading the change feed");
  }
  return response;
}

absl::StatusOr<v1::ReadRowsResponse> MysqlVersionStore::ReadRows(
    const v1::ReadRowsRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   CurrentSchema(request.table()));
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  v1::ReadRowsResponse response;
  try {
    // The position first: whatever commits after it is in the feed, and
    // maybe also in the rows read below (harmless: entries are states).
    Sequence(conn, request.table());
    response.set_cursor_seq(QueryInt(
        conn,
        absl::StrCat("SELECT next_seq FROM `_sheetsync_tables` WHERE tbl = ",
                     Literal(conn, request.table()))));
    const int limit = std::max(1, request.limit());
    const std::string key = QuoteIdentifier(schema->key_column());
    // One more row than the page, to tell whether more follow. Rows whose
    // key is not a UUID are skipped, so read on past them.
    std::vector<std::pair<std::string, google::protobuf::Struct>> rows;
    std::string after = request.after();
    for (;;) {
      // From the start, no bound: `key > ''` compares '' as a UUID in a
      // column of MariaDB's UUID type, which matches no row.
      CellRows read = ReadCells(
          conn, *schema,
          absl::StrCat(after.empty()
                           ? "TRUE"
                           : absl::StrCat(key, " > ", Literal(conn, after)),
                       " ORDER BY ", key, " LIMIT ", limit + 1));
      for (auto& row : read.rows) rows.push_back(std::move(row));
      if (read.read < limit + 1 || static_cast<int>(rows.size()) > limit) break;
      after = read.last_key;
    }
    for (auto& [id, cells] : rows) {
      if (response.rows_size() == limit) {
        response.set_has_more(true);
        break;
      }
      v1::SnapshotRow& row = *response.add_rows();
      row.set_row_id(id);
      *row.mutable_cells() = std::move(cells);
      response.set_next_after(id);
    }
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "reading the table's rows");
  }
  return response;
}

}  // namespace sheetsync
