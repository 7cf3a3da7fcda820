// MysqlVersionStore: the VersionStore kept in MySQL itself. Sync metadata
// lives in the engine's own tables (prefix _sheetsync_), never in user tables:
//   _sheetsync_tables     registered tables, pruned-tombstone horizon
//   _sheetsync_registry   registrations made through the admin API
//   _sheetsync_rows       per row: rev (optimistic concurrency) and tombstone
//   _sheetsync_cells      per cell: winning value and its version
//   _sheetsync_events     accepted event ids (duplicate detection)
//   _sheetsync_changelog  committed row changes, for the change feed
// Races are settled inside MySQL: Apply moves each row it writes from the rev
// its plan was made against to the next (which locks it), and rolls back
// when any rev had moved; the transaction is one round trip and a COMMIT.
// Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_MYSQL_VERSION_STORE_H_
#define SHEETSYNC_SERVICES_WRITER_MYSQL_VERSION_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock.h"
#include "services/common/schema_cache.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/writer_metrics.h"
#include "services/writer/version_store.h"

namespace sheetsync {

struct TableRegistration {
  std::string table;
  std::string key_column = "uuid";
  // Columns the sync never writes (edits rejected, the feed shows them).
  std::vector<std::string> read_only_columns = {};
};

class MysqlVersionStore final : public VersionStore {
 public:
  // `pool` and `clock` must outlive the store.
  MysqlVersionStore(MysqlPool& pool, const Clock& clock,
                    std::vector<TableRegistration> tables);

  // Reports retries and batch sizes to `metrics` (may be null). Call before
  // the store is shared between threads; `metrics` must outlive the store.
  void set_metrics(WriterMetrics* metrics) { metrics_ = metrics; }

  // Creates the metadata tables if missing and registers the tables.
  // FAILED_PRECONDITION when a registered table lacks its key column.
  absl::Status Migrate();

  // Returns OK when MySQL answers a query on a connection of `pool` (give it
  // a short I/O timeout: a MySQL that hangs must not hold readiness up) and
  // takes writes; UNAVAILABLE otherwise, also while it is read-only.
  static absl::Status Ping(MysqlPool& pool);

  // Makes `tables` the registered set (the table registry changed). Tables
  // no longer registered stop syncing: their capture triggers and pending
  // captured edits are dropped (a later registration logs the rows they
  // hold then, stamped with that time).
  absl::Status SetTables(std::vector<TableRegistration> tables);

  // Sets what Discover calls for a table that is not registered before it
  // answers NOT_FOUND (e.g. to re-read the registry); it returns true when
  // the table may be registered now. Call before serving.
  void SetUnknownTableHook(std::function<bool(const std::string&)> hook) {
    unknown_table_hook_ = std::move(hook);
  }

  // Returns the schema the table would have if registered as given, without
  // registering anything. NOT_FOUND: no such table; FAILED_PRECONDITION: the
  // key column is missing, not UUID text or not unique.
  absl::StatusOr<v1::TableSchema> Inspect(
      const TableRegistration& registration);

  absl::StatusOr<v1::TableSchema> DescribeTable(
      const std::string& table) override;
  absl::StatusOr<v1::ReadStateResponse> ReadState(
      const v1::ReadStateRequest& request) override;
  absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& request,
                                          const ApplyOptions& options) override;
  std::vector<std::string> ListTables() override;
  absl::StatusOr<v1::ClaimCaptureResponse> ClaimCapture(
      const v1::ClaimCaptureRequest& request) override;
  absl::StatusOr<v1::ReadFeedResponse> ReadFeed(
      const v1::ReadFeedRequest& request) override;
  absl::StatusOr<v1::ReadRowsResponse> ReadRows(
      const v1::ReadRowsRequest& request) override;

  // Refreshes every table's schema and capture triggers (a column was added
  // or dropped) and prunes what is older than `retention`: the change log,
  // event ids and tombstones of deleted rows; reports each table's capture
  // backlog. Safe to run on every replica.
  absl::Status Maintain(absl::Duration retention, bool prune);
  // Sets sheetsync_capture_oldest_pending_seconds of every table (with
  // metrics): Maintain does, and the writer once before it serves.
  absl::Status ReportCaptureBacklogs();

 private:
  absl::Status ReportCaptureBacklog(const std::string& table);
  // Drops every capture trigger of the table. Throws sql::SQLException.
  void DropCaptureTriggers(PooledConnection& conn, const std::string& table);
  // Removes the capture triggers of a table that cannot sync (they may name
  // a column that is gone, which fails every write to the table).
  absl::Status SuspendCapture(PooledConnection& conn, const std::string& table,
                              int ddl_wait_s);
  // What _sheetsync_tables says of a table's capture triggers.
  struct CaptureRecord {
    std::string signature;         // '' never installed, "suspended" removed
    int64_t registered_at_us = 0;  // 0: unregistered
    int64_t installed_at_us = 0;
  };
  // Returns nullopt for a table never registered. Throws sql::SQLException.
  std::optional<CaptureRecord> ReadCaptureRecord(PooledConnection& conn,
                                                 const std::string& table);
  // Whether the table's triggers need no change for `schema`: they are its
  // own, all of them and no others, or a newer version's, installed lately.
  // Throws sql::SQLException.
  bool CaptureInPlace(PooledConnection& conn, const v1::TableSchema& schema,
                      const CaptureRecord& record);
  // Replicas change a table's capture triggers one at a time, holding this
  // named lock and with its columns read under it: two that installed
  // different signatures at once would each drop the other's, and the one
  // that claimed last would leave the table with none, while
  // _sheetsync_tables said they were there. Discover only tries it (the
  // holder is at the work); StopCapture waits for it as for any lock
  // (MysqlConfig::lock_wait_timeout_seconds).
  static std::string CaptureLockName(const std::string& table) {
    return "capture." + table;
  }
  // Installs the capture triggers for the schema unless they are in place,
  // then drops the old ones (and ones of this table's that another table
  // took along, in a RENAME: they log that table's edits as this one's);
  // on first registration also logs the existing rows as MYSQL inserts
  // stamped with the registration time. Called with the capture lock held.
  // Its DDL waits up to `ddl_wait_s` for the table's metadata lock.
  absl::Status EnsureCapture(PooledConnection& conn,
                             const v1::TableSchema& schema, int ddl_wait_s);
  // A DDL statement that waits for a table's metadata lock (a transaction is
  // open on the table) holds up every later statement on the table: so a
  // replica changes a table's triggers first without waiting, and after
  // each failure waits a second longer (up to MysqlConfig's
  // lock_wait_timeout_seconds), and tries again only after 2, 4, ... 64 s.
  // Returns how long its DDL may wait now, or nullopt: not yet.
  std::optional<int> CaptureDdlWait(const std::string& table);
  // Records how changing the table's triggers went.
  void CaptureDdlDone(const std::string& table, const absl::Status& status);
  struct CaptureRetry {
    int failures = 0;
    int64_t next_us = 0;
  };
  absl::Mutex capture_retry_mu_;
  absl::flat_hash_map<std::string, CaptureRetry> capture_retry_
      ABSL_GUARDED_BY(capture_retry_mu_);
  // Logs the deletes no capture trigger saw (MissedDeleteSql): reads the
  // next kMissedDeleteRows rows of the table's sync state and the rows the
  // table holds of them in one snapshot, and logs a delete for each row the
  // state expects and the table lacks. Each maintenance pass goes on where
  // the last one stopped, and starts over after the last row. Only for a
  // table whose triggers were installed (their first claim logged the rows
  // it held then).
  absl::Status CaptureMissedDeletes(const v1::TableSchema& schema);
  absl::Mutex missed_deletes_mu_;
  // Per table: the row id the next pass reads after ("" from the start).
  absl::flat_hash_map<std::string, std::string> missed_deletes_after_
      ABSL_GUARDED_BY(missed_deletes_mu_);
  // Hands out feed positions to committed change-log entries, in the order
  // they became visible, so a reader never skips a late commit.
  void Sequence(PooledConnection& conn, const std::string& table);
  absl::Status Prune(const std::string& table, int64_t cutoff_us);
  absl::StatusOr<v1::TableSchema> Discover(const std::string& table);
  // Returns the cached schema when it still lists the table's columns, else
  // discovers it again (a column was added or dropped since).
  absl::StatusOr<std::shared_ptr<const v1::TableSchema>> CurrentSchema(
      const std::string& table);
  // Returns the registration of `table`, or nullopt.
  std::optional<TableRegistration> Registration(const std::string& table);
  // Reads the table's columns from information_schema (and marks JSON and
  // read-only columns); checks the key column. Throws sql::SQLException.
  absl::StatusOr<v1::TableSchema> ReadSchema(
      PooledConnection& conn, const TableRegistration& registration);
  // Records `next` in _sheetsync_tables and stops capture of tables no
  // longer in it (one attempt; SetTables retries deadlocks).
  absl::Status RegisterTables(
      const absl::flat_hash_map<std::string, TableRegistration>& next);
  // Drops the capture triggers and pending captured edits of a table that is
  // no longer registered. Throws sql::SQLException.
  void StopCapture(PooledConnection& conn, const std::string& table);
  // Runs ReadState's queries on `conn` (inside or outside a transaction).
  v1::ReadStateResponse ReadStateOn(PooledConnection& conn,
                                    const std::string& table,
                                    const std::vector<std::string>& row_ids,
                                    const std::vector<std::string>& event_ids);
  // Answers a plan that met a concurrent commit: the fresh state of its rows,
  // and their captured SQL edits not merged yet.
  absl::StatusOr<v1::ApplyResponse> ConflictResponse(
      PooledConnection& conn, const v1::ApplyRequest& request,
      const v1::TableSchema& schema);
  // Adds to `response` the captured edits of `rows` that wait to be merged
  // (but those in `consumed`), leased or not, in capture order; deletes
  // those that cannot sync, as ClaimCapture does. Throws sql::SQLException.
  void AddPendingCaptures(
      PooledConnection& conn, const v1::TableSchema& schema,
      const std::vector<std::string>& rows,
      const google::protobuf::RepeatedField<int64_t>& consumed,
      v1::ApplyResponse& response);
  // One attempt of Apply: runs the plan's statements in one transaction and
  // commits it. Throws StaleState (after rolling back) when the rows moved or
  // an event was recorded since the plan was made, or sql::SQLException.
  // Throws RefusedValues (after rolling back) when MySQL refused a row's
  // values; `row_by_row` writes each row of the user table on its own
  // statement, so that the refused row is known.
  v1::ApplyResponse ApplyOnce(PooledConnection& conn,
                              const v1::ApplyRequest& request,
                              const v1::TableSchema& schema, bool row_by_row);
  MysqlPool& pool_;
  WriterMetrics* metrics_ = nullptr;
  const Clock& clock_;
  absl::Mutex tables_mu_;
  absl::flat_hash_map<std::string, TableRegistration> tables_
      ABSL_GUARDED_BY(tables_mu_);
  std::function<bool(const std::string&)> unknown_table_hook_;
  SchemaCache schemas_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_MYSQL_VERSION_STORE_H_
