// The SQL of MySQL-side capture: triggers that the engine installs on every
// registered table (AFTER INSERT/UPDATE/DELETE) and that log each direct edit
// into _sheetsync_capture with the server's time of the write (microseconds,
// UTC) and the new values as text. Writes of the engine's own sessions
// (@sheetsync_writer set) are not logged, so nothing echoes. Triggers are
// named after a signature of the columns: a schema change installs the new
// ones before dropping the old. Pure; thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_CAPTURE_SQL_H_
#define SHEETSYNC_SERVICES_WRITER_CAPTURE_SQL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Returns a short signature of the trigger text's version and the table's
// name and capturable columns: "<version>.<hex>".
std::string CaptureSignature(const v1::TableSchema& schema);

// The trigger text's version a signature names: 4 for the bare hex of
// earlier writers, 0 for none ('', "suspended").
int CaptureSignatureVersion(absl::string_view signature);

// Returns the prefix every capture trigger of `table` starts with.
std::string CaptureTriggerPrefix(const std::string& table);

// Returns the names of `table`'s capture triggers with `signature` (of its
// INSERT, UPDATE and DELETE triggers, which CaptureTriggerSql creates).
std::vector<std::string> CaptureTriggerNames(const std::string& table,
                                             const std::string& signature);
// Returns CREATE TRIGGER statements for the schema, named with `signature`.
// `quote` turns text into an SQL string literal.
std::vector<std::string> CaptureTriggerSql(
    const v1::TableSchema& schema, const std::string& signature,
    const std::function<std::string(const std::string&)>& quote);

// Returns an INSERT ... SELECT that logs every existing row as an insert
// stamped `at_us` (rows present when the table is first registered).
std::string CaptureSnapshotSql(
    const v1::TableSchema& schema, int64_t at_us,
    const std::function<std::string(const std::string&)>& quote);

// Returns the query of the next `limit` rows of the table's sync state
// after row id `after` (a quoted literal; '' from the start), in row id
// order: each row's id, and whether the table should hold it now (not
// deleted, or brought back since) with no captured edit of it waiting to be
// merged. The two columns: row_id, expected.
std::string ExpectedRowsSql(
    const v1::TableSchema& schema, const std::string& after, int limit,
    const std::function<std::string(const std::string&)>& quote);

// Returns an INSERT that logs the deletion of row `row_id` (as the delete
// trigger would, stamped now by MySQL's clock) if the table still lacks it
// and no captured edit of it waits to be merged: a delete no trigger saw (a
// foreign key's ON DELETE CASCADE, which fires none; a DELETE while the
// triggers were missing; TRUNCATE).
std::string MissedDeleteSql(
    const v1::TableSchema& schema, const std::string& row_id,
    const std::function<std::string(const std::string&)>& quote);

// Return the statements that delete, and lease until `lease_until_us`, the
// captured rows with these ids, touching no other row. The capture table is
// small and its statistics often say empty, so MariaDB plans `id IN (...)`
// as a full scan, and a scanning DELETE waits for every row it reads that
// another transaction holds: one direct edit left uncommitted on a synced
// table (its trigger's row) would stall every merge, and the feed behind it.
// So each id is deleted on its own (a primary-key lookup), and the lease
// UPDATE forces the primary key.
std::vector<std::string> DeleteCapturedSql(absl::Span<const int64_t> ids);
std::string LeaseCapturedSql(absl::Span<const int64_t> ids,
                             int64_t lease_until_us);
// The query of how long, in microseconds by MySQL's clock, the oldest edit
// captured in table `tbl` (a quoted literal) has waited to be merged; no row
// when none waits. A plain read: it waits for no lock.
std::string OldestCaptureAgeSql(const std::string& tbl);

// Returns the captured row as a change (source MYSQL). `cols` is the JSON
// array of changed column names (or empty: all), `vals` the JSON object of
// column texts (binary columns hex-encoded). InvalidArgument when the key is
// not a UUID; DataLoss when the JSON does not parse; NotFound when it names a
// column `schema` lacks (one added since the schema was read, or dropped
// since the edit). With `known_only` (the schema was read after the edit),
// such columns were dropped and are left out: NotFound only when none is
// left.
absl::StatusOr<v1::Change> CapturedChange(
    const v1::TableSchema& schema, int64_t capture_id, char op,
    const std::string& row_id, int64_t captured_at_us, const std::string& cols,
    const std::string& vals, bool known_only = false);

// The reason (of sheetsync_rejected_total) a captured row that
// CapturedChange refused with `status` is skipped for: invalid_row_id,
// invalid_value or unknown_column.
const char* CaptureSkipReason(const absl::Status& status);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_CAPTURE_SQL_H_
