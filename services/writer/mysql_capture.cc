// MysqlVersionStore: capture of direct MySQL edits and retention.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cppconn/resultset.h"
#include "cppconn/statement.h"
#include "services/common/ids.h"
#include "services/common/process.h"
#include "services/common/status_macros.h"
#include "services/writer/capture_sql.h"
#include "services/writer/mysql_error.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);
constexpr int kTriggerExists = 1359;
// _sheetsync_tables.capture_sig of a table whose triggers were removed while
// it could not sync.
constexpr char kCaptureSuspended[] = "suspended";
// Rows of a table's sync state each maintenance pass compares with the
// table (CaptureMissedDeletes): a table of 1 M rows in ~35 min at the
// default 2 s between passes.
constexpr int kMissedDeleteRows = 1000;
// How long a writer leaves the triggers of a newer version in place.
constexpr absl::Duration kNewerTriggersKept = absl::Minutes(10);

// The names of the capture triggers `table` has now, of any signature.
std::vector<std::string> CaptureTriggers(PooledConnection& conn,
                                         const std::string& table) {
  auto rs = Query(
      conn, absl::StrCat(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ",
                Literal(conn, table)));
  const std::string prefix = CaptureTriggerPrefix(table);
  std::vector<std::string> names;
  while (rs->next()) {
    std::string name = std::string(rs->getString(1));
    if (absl::StartsWith(name, prefix)) names.push_back(std::move(name));
  }
  return names;
}

void DropTrigger(PooledConnection& conn, const std::string& name) {
  Execute(conn, absl::StrCat("DROP TRIGGER IF EXISTS ", QuoteIdentifier(name)));
}

// The names of capture triggers of `table` that another table has: a
// RENAME TABLE takes a table's triggers along, and they go on logging that
// table's edits as `table`'s. (Trigger names are the schema's: ones of the
// same name keep `table` from having its own.) Told apart from another
// table's own by what they log, not by the name's prefix alone.
std::vector<std::string> StrayTriggers(PooledConnection& conn,
                                       const std::string& table) {
  const std::string prefix = CaptureTriggerPrefix(table);
  const std::string logs_as =
      absl::StrCat("VALUES (", Literal(conn, table), ",");
  auto rs = Query(
      conn, absl::StrCat(
                "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
                "WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE <> ",
                Literal(conn, table), " AND LEFT(TRIGGER_NAME, ", prefix.size(),
                ") = ", Literal(conn, prefix), " AND LOCATE(",
                Literal(conn, logs_as), ", ACTION_STATEMENT) > 0"));
  std::vector<std::string> names;
  while (rs->next()) names.push_back(std::string(rs->getString(1)));
  return names;
}

}  // namespace

std::optional<MysqlVersionStore::CaptureRecord>
MysqlVersionStore::ReadCaptureRecord(PooledConnection& conn,
                                     const std::string& table) {
  auto rs = Query(conn, absl::StrCat("SELECT capture_sig, registered_at_us, "
                                     "capture_sig_at_us "
                                     "FROM `_sheetsync_tables` WHERE tbl = ",
                                     Literal(conn, table)));
  if (!rs->next()) return std::nullopt;
  return CaptureRecord{std::string(rs->getString(1)), rs->getInt64(2),
                       rs->getInt64(3)};
}

bool MysqlVersionStore::CaptureInPlace(PooledConnection& conn,
                                       const v1::TableSchema& schema,
                                       const CaptureRecord& record) {
  const std::string signature = CaptureSignature(schema);
  if (record.signature == signature) {
    // Said to be installed, and there: a table swapped for a copy (RENAME
    // TABLE, as online schema change tools do) or dropped and created again
    // has none, and a replica of an earlier version may have left its own.
    std::vector<std::string> names = CaptureTriggers(conn, schema.table());
    std::vector<std::string> mine =
        CaptureTriggerNames(schema.table(), signature);
    absl::c_sort(names);
    absl::c_sort(mine);
    return names == mine;
  }
  // A newer version's, installed lately: a rolling release, whose writers
  // of two versions would otherwise replace each other's triggers every
  // few seconds. Left alone for a while only: after a rollback to this
  // version, its triggers must come back (they follow the columns). And
  // only while the table has some (not swapped for a copy meanwhile).
  return CaptureSignatureVersion(record.signature) >
             CaptureSignatureVersion(signature) &&
         clock_.NowMicros() - record.installed_at_us <
             absl::ToInt64Microseconds(kNewerTriggersKept) &&
         !CaptureTriggers(conn, schema.table()).empty();
}

std::optional<int> MysqlVersionStore::CaptureDdlWait(const std::string& table) {
  absl::MutexLock lock(&capture_retry_mu_);
  auto it = capture_retry_.find(table);
  if (it == capture_retry_.end()) return 0;
  if (clock_.NowMicros() < it->second.next_us) return std::nullopt;
  return std::min(it->second.failures,
                  pool_.config().lock_wait_timeout_seconds);
}

void MysqlVersionStore::CaptureDdlDone(const std::string& table,
                                       const absl::Status& status) {
  absl::MutexLock lock(&capture_retry_mu_);
  if (status.ok() || absl::IsNotFound(status)) {
    capture_retry_.erase(table);
    return;
  }
  CaptureRetry& retry = capture_retry_[table];
  ++retry.failures;
  retry.next_us = clock_.NowMicros() +
                  (int64_t{2'000'000} << std::min(retry.failures - 1, 5));
}

absl::Status MysqlVersionStore::EnsureCapture(PooledConnection& conn,
                                              const v1::TableSchema& schema,
                                              int ddl_wait_s) {
  const std::string tbl = Literal(conn, schema.table());
  const std::string signature = CaptureSignature(schema);
  auto quote = [&conn](const std::string& text) { return Literal(conn, text); };
  try {
    const std::optional<CaptureRecord> record =
        ReadCaptureRecord(conn, schema.table());
    if (!record.has_value())
      return absl::NotFoundError("table is not registered");
    if (CaptureInPlace(conn, schema, *record)) return absl::OkStatus();
    // 0: another replica unregistered the table (SetTables) and this one has
    // not caught up yet; installing now would log rows stamped 0.
    if (record->registered_at_us == 0) {
      return absl::NotFoundError("table is not registered");
    }

    {
      LockWaitTimeout wait(conn, ddl_wait_s,
                           pool_.config().lock_wait_timeout_seconds);
      for (const std::string& name : StrayTriggers(conn, schema.table())) {
        DropTrigger(conn, name);
      }
      for (const std::string& ddl :
           CaptureTriggerSql(schema, signature, quote)) {
        try {
          Execute(conn, ddl);
        } catch (const sql::SQLException& e) {
          if (e.getErrorCode() != kTriggerExists) throw;  // left by a crash
        }
      }
      // The old triggers go before the claim below, and so does what is
      // left to do after them: until the claim commits, the next load of
      // the schema does it all again (it fails on a lock wait, a deadlock).
      for (const std::string& name : CaptureTriggers(conn, schema.table())) {
        if (!absl::EndsWith(name, signature)) DropTrigger(conn, name);
      }
    }
    if (!schema.key_case_sensitive()) {
      // Triggers before version 5 logged the key as stored: edits they
      // logged that wait to be merged would escape the writer's check for
      // them (PendingCaptureSql), which looks for the sheet's lower-case id.
      // Once the old triggers are gone (a DROP TRIGGER waits for the
      // transactions that ran them), nothing logs such keys any more.
      Execute(conn, absl::StrCat("UPDATE `_sheetsync_capture` SET row_id = "
                                 "LOWER(row_id) WHERE tbl = ",
                                 tbl, " AND row_id <> LOWER(row_id)"));
    }
    // Claim the switch to the new signature; the first claim of a table
    // logs the rows it already holds.
    Begin(conn);
    const int claimed = Execute(
        conn,
        absl::StrCat("UPDATE `_sheetsync_tables` SET capture_sig = ",
                     Literal(conn, signature), ", capture_sig_at_us = ",
                     clock_.NowMicros(), " WHERE tbl = ", tbl,
                     " AND capture_sig = ", Literal(conn, record->signature)));
    if (claimed == 1 && record->signature.empty()) {
      Execute(conn,
              CaptureSnapshotSql(schema, record->registered_at_us, quote));
    }
    Commit(conn);
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "installing the capture triggers");
  }
  return absl::OkStatus();
}

void MysqlVersionStore::DropCaptureTriggers(PooledConnection& conn,
                                            const std::string& table) {
  for (const std::string& name : CaptureTriggers(conn, table)) {
    DropTrigger(conn, name);
  }
}

absl::Status MysqlVersionStore::SuspendCapture(PooledConnection& conn,
                                               const std::string& table,
                                               int ddl_wait_s) {
  const std::string tbl = Literal(conn, table);
  try {
    {
      LockWaitTimeout wait(conn, ddl_wait_s,
                           pool_.config().lock_wait_timeout_seconds);
      DropCaptureTriggers(conn, table);
    }
    // Not '' (never installed): installing again must not log the table's
    // rows as inserts stamped with its registration time.
    Execute(conn, absl::StrCat("UPDATE `_sheetsync_tables` SET capture_sig = ",
                               Literal(conn, kCaptureSuspended),
                               " WHERE tbl = ", tbl, " AND capture_sig <> ''"));
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "removing the capture triggers");
  }
  return absl::OkStatus();
}

std::vector<std::string> MysqlVersionStore::ListTables() {
  std::vector<std::string> names;
  absl::MutexLock lock(&tables_mu_);
  for (const auto& [name, registration] : tables_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// A row of _sheetsync_capture: an SQL edit as a trigger logged it.
struct CapturedRow {
  int64_t id = 0;
  char op = 'U';
  std::string row_id;
  int64_t captured_at_us = 0;
  std::string cols;  // "" for all
  std::string vals;
};

// Reads `rs`'s row (id, op, row_id, captured_at_us, cols, vals).
CapturedRow ReadCapturedRow(sql::ResultSet& rs) {
  const std::string op = std::string(rs.getString("op"));
  return {rs.getInt64("id"),
          op.empty() ? 'U' : op[0],
          std::string(rs.getString("row_id")),
          rs.getInt64("captured_at_us"),
          rs.isNull("cols") ? "" : std::string(rs.getString("cols")),
          rs.isNull("vals") ? "{}" : std::string(rs.getString("vals"))};
}

// The captured edit as a change, or why it cannot sync (CapturedChange).
absl::StatusOr<v1::Change> DecodeCaptured(const v1::TableSchema& schema,
                                          const CapturedRow& row,
                                          bool known_only) {
  return CapturedChange(schema, row.id, row.op, row.row_id, row.captured_at_us,
                        row.cols, row.vals, known_only);
}

// Adds the decoded edit `change` captured as `id` to `out`.
void AddCaptured(int64_t id, v1::Change change,
                 google::protobuf::RepeatedPtrField<v1::CapturedChange>& out) {
  v1::CapturedChange& captured = *out.Add();
  captured.set_capture_id(id);
  captured.set_captured_at_us(change.updated_at_us());
  *captured.mutable_change() = std::move(change);
}

}  // namespace

void MysqlVersionStore::AddPendingCaptures(
    PooledConnection& conn, const v1::TableSchema& schema,
    const std::vector<std::string>& rows,
    const google::protobuf::RepeatedField<int64_t>& consumed,
    v1::ApplyResponse& response) {
  if (rows.empty()) return;
  // A plain read (no lock): a lease only says which poller merges an edit,
  // and an edit merged twice is a duplicate the second time.
  auto rs = Query(
      conn, absl::StrCat("SELECT id, op, row_id, captured_at_us, cols, vals "
                         "FROM `_sheetsync_capture` WHERE tbl = ",
                         Literal(conn, schema.table()), " AND row_id IN ",
                         InList(conn, rows), " ORDER BY id"));
  std::vector<CapturedRow> captured;
  while (rs->next()) {
    CapturedRow row = ReadCapturedRow(*rs);
    if (!absl::c_linear_search(consumed, row.id))
      captured.push_back(std::move(row));
  }
  // Read once if an edit names a column added since `schema` was: that
  // edit's other columns must not be merged without it, and holding it back
  // would hold the row's sheet edits back with it.
  std::optional<absl::StatusOr<v1::TableSchema>> fresh;
  std::vector<int64_t> unusable;
  for (const CapturedRow& row : captured) {
    absl::StatusOr<v1::Change> change = DecodeCaptured(schema, row, false);
    if (absl::IsNotFound(change.status())) {
      if (!fresh.has_value()) {
        std::optional<TableRegistration> registration =
            Registration(schema.table());
        fresh = registration.has_value()
                    ? ReadSchema(conn, *registration)
                    : absl::NotFoundError("table is not registered");
      }
      // The table as it is now: columns it still lacks were dropped.
      if (fresh->ok()) change = DecodeCaptured(**fresh, row, true);
    }
    if (!change.ok()) {
      // Damaged JSON cannot sync; an edit of only dropped columns changes
      // nothing that syncs (a poller deletes both too).
      if (absl::IsDataLoss(change.status()) ||
          (absl::IsNotFound(change.status()) && fresh->ok())) {
        unusable.push_back(row.id);
      }
      continue;
    }
    AddCaptured(row.id, *std::move(change),
                *response.mutable_pending_captures());
  }
  // An edit that cannot sync would hold the row's writes back for good (a
  // poller would delete it too).
  for (const std::string& statement : DeleteCapturedSql(unusable)) {
    Execute(conn, statement);
  }
}

absl::StatusOr<v1::ClaimCaptureResponse> MysqlVersionStore::ClaimCapture(
    const v1::ClaimCaptureRequest& request) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(request.table()));
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  for (bool refreshed = false;; refreshed = true) {
    v1::ClaimCaptureResponse response;
    const int64_t now = clock_.NowMicros();
    try {
      Begin(conn);
      auto rs = Query(
          conn,
          absl::StrCat("SELECT id, op, row_id, captured_at_us, cols, vals FROM "
                       "`_sheetsync_capture` "
                       "WHERE tbl = ",
                       Literal(conn, request.table()), " AND lease_until_us < ",
                       now, " ORDER BY id LIMIT ", std::max(1, request.limit()),
                       " FOR UPDATE SKIP LOCKED"));
      std::vector<std::pair<int64_t, absl::StatusOr<v1::Change>>> decoded;
      bool unknown_column = false;
      while (rs->next()) {
        const CapturedRow row = ReadCapturedRow(*rs);
        decoded.emplace_back(row.id, DecodeCaptured(*schema, row, refreshed));
        unknown_column |= absl::IsNotFound(decoded.back().second.status());
      }
      // An edit of a column added since the schema was cached (the triggers
      // may be newer than this writer's cache): read the table as it is now,
      // and claim again; columns it still lacks were dropped.
      if (unknown_column && !refreshed) {
        RollbackQuietly(conn);
        ASSIGN_OR_RETURN(v1::TableSchema fresh, DescribeTable(request.table()));
        schema = std::make_shared<const v1::TableSchema>(std::move(fresh));
        continue;
      }
      std::vector<int64_t> ids, unusable;
      for (auto& [id, change] : decoded) {
        if (!change.ok()) {
          unusable.push_back(id);
          ++(*response.mutable_skipped_by_reason())[CaptureSkipReason(
              change.status())];
          continue;
        }
        ids.push_back(id);
        AddCaptured(id, *std::move(change), *response.mutable_changes());
      }
      if (!ids.empty()) {
        Execute(conn, LeaseCapturedSql(ids, now + request.lease_us()));
      }
      if (!unusable.empty()) {
        // A key that is not a UUID cannot sync; an edit of only columns
        // the table no longer has changes nothing that syncs.
        SqlBatch deletes;
        for (std::string& statement : DeleteCapturedSql(unusable)) {
          deletes.Add(std::move(statement));
        }
        deletes.Run(conn);
        response.set_skipped(static_cast<int>(unusable.size()));
      }
      Commit(conn);
      return response;
    } catch (const sql::SQLException& e) {
      RollbackQuietly(conn);
      return MysqlErrorStatus(e, conn, "claiming captured edits");
    }
  }
}

absl::Status MysqlVersionStore::Maintain(absl::Duration retention, bool prune) {
  absl::Status result;
  for (const std::string& table : ListTables()) {
    schemas_.Invalidate(table);  // re-discovers and refreshes the triggers
    absl::StatusOr<std::shared_ptr<const v1::TableSchema>> schema =
        schemas_.Get(table);
    if (!schema.ok()) result.Update(schema.status());
    if (schema.ok()) result.Update(CaptureMissedDeletes(**schema));
    if (prune) {
      result.Update(Prune(table, clock_.NowMicros() -
                                     absl::ToInt64Microseconds(retention)));
    }
  }
  result.Update(ReportCaptureBacklogs());
  return result;
}

absl::Status MysqlVersionStore::CaptureMissedDeletes(
    const v1::TableSchema& schema) {
  const std::string& table = schema.table();
  std::string after;
  {
    absl::MutexLock lock(&missed_deletes_mu_);
    after = missed_deletes_after_[table];
  }
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  auto quote = [&conn](const std::string& text) { return Literal(conn, text); };
  std::vector<std::string> expected, missing;
  int read = 0;
  try {
    const std::optional<CaptureRecord> record = ReadCaptureRecord(conn, table);
    if (!record.has_value() || record->registered_at_us == 0 ||
        record->signature.empty() || record->signature == kCaptureSuspended) {
      return absl::OkStatus();
    }
    // One snapshot for both reads: the writer changes a row's state and the
    // table's row in one transaction, so within it they agree but for what
    // no trigger saw. (A delete a trigger saw is a captured edit waiting.)
    Execute(conn, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    Execute(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
    auto rs =
        Query(conn, ExpectedRowsSql(schema, after, kMissedDeleteRows, quote));
    while (rs->next()) {
      ++read;
      after = std::string(rs->getString(1));
      if (rs->getBoolean(2)) expected.push_back(after);
    }
    if (!expected.empty()) {
      absl::flat_hash_set<std::string> held;
      rs = Query(conn,
                 absl::StrCat("SELECT ", QuoteIdentifier(schema.key_column()),
                              " FROM ", QuoteIdentifier(table), " WHERE ",
                              QuoteIdentifier(schema.key_column()), " IN ",
                              InList(conn, expected)));
      while (rs->next()) {
        absl::StatusOr<std::string> id = RowIdOfStoredKey(
            std::string(rs->getString(1)), schema.key_case_sensitive());
        if (id.ok()) held.insert(*std::move(id));
      }
      for (std::string& id : expected) {
        if (!held.contains(id)) missing.push_back(std::move(id));
      }
    }
    Commit(conn);
    // Each logged if the row is still missing and nothing else logged it
    // meanwhile: stamped now, it is a delete seen now.
    int logged = 0;
    for (const std::string& id : missing) {
      logged += Execute(conn, MissedDeleteSql(schema, id, quote));
    }
    if (logged > 0) {
      if (metrics_ != nullptr) metrics_->AddMissedDeletes(table, logged);
      LogInfo("logged deletes no capture trigger saw",
              {{"table", table}, {"rows", absl::StrCat(logged)}});
    }
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "looking for deletes no trigger saw");
  }
  absl::MutexLock lock(&missed_deletes_mu_);
  missed_deletes_after_[table] = read < kMissedDeleteRows ? "" : after;
  return absl::OkStatus();
}

absl::Status MysqlVersionStore::ReportCaptureBacklogs() {
  absl::Status result;
  for (const std::string& table : ListTables())
    result.Update(ReportCaptureBacklog(table));
  return result;
}

absl::Status MysqlVersionStore::ReportCaptureBacklog(const std::string& table) {
  if (metrics_ == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    auto rs = Query(conn, OldestCaptureAgeSql(Literal(conn, table)));
    metrics_->SetCaptureBacklogAge(table,
                                   rs->next() ? rs->getInt64(1) / 1e6 : 0);
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the capture backlog");
  }
  return absl::OkStatus();
}

absl::Status MysqlVersionStore::Prune(const std::string& table,
                                      int64_t cutoff_us) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  const std::string tbl = Literal(conn, table);
  try {
    Sequence(conn, table);
    Begin(conn);
    // The change log: remember how far it was cut so old cursors get 410.
    auto rs = Query(
        conn, absl::StrCat(
                  "SELECT MAX(seq) FROM `_sheetsync_changelog` WHERE tbl = ",
                  tbl, " AND seq IS NOT NULL AND logged_at_us < ", cutoff_us));
    if (rs->next() && !rs->isNull(1)) {
      const int64_t max_seq = rs->getInt64(1);
      Execute(conn, absl::StrCat(
                        "DELETE FROM `_sheetsync_changelog` WHERE tbl = ", tbl,
                        " AND seq <= ", max_seq));
      Execute(conn, absl::StrCat("UPDATE `_sheetsync_tables` SET pruned_seq = "
                                 "GREATEST(pruned_seq, ",
                                 max_seq, ") WHERE tbl = ", tbl));
    }
    Execute(conn, absl::StrCat("DELETE FROM `_sheetsync_events` WHERE tbl = ",
                               tbl, " AND stored_at_us < ", cutoff_us));
    // Tombstones of rows with nothing left: raise the horizon first, so a
    // late replay of such a row answers stale instead of resurrecting it.
    const std::string dead = absl::StrCat(
        " FROM `_sheetsync_rows` r WHERE r.tbl = ", tbl,
        " AND r.tomb_us IS NOT NULL AND r.updated_us < ", cutoff_us,
        " AND NOT EXISTS (SELECT 1 FROM `_sheetsync_cells` c "
        "WHERE c.tbl = r.tbl AND c.row_id = r.row_id)");
    rs = Query(conn, absl::StrCat("SELECT MAX(r.tomb_us)", dead));
    if (rs->next() && !rs->isNull(1)) {
      Execute(conn,
              absl::StrCat(
                  "UPDATE `_sheetsync_tables` SET pruned_horizon_us = GREATEST("
                  "pruned_horizon_us, ",
                  rs->getInt64(1), ") WHERE tbl = ", tbl));
      Execute(conn, absl::StrCat("DELETE r", dead));
    }
    Commit(conn);
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "pruning old sync metadata");
  }
  return absl::OkStatus();
}

}  // namespace sheetsync
