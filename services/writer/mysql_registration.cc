// MysqlVersionStore: the set of registered tables, replaced at run time when
// the table registry changes.
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cppconn/exception.h"
#include "cppconn/resultset.h"
#include "services/common/status_macros.h"
#include "services/writer/capture_sql.h"
#include "services/writer/mysql_error.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);

}  // namespace

std::optional<TableRegistration> MysqlVersionStore::Registration(
    const std::string& table) {
  absl::MutexLock lock(&tables_mu_);
  auto it = tables_.find(table);
  if (it == tables_.end()) return std::nullopt;
  return it->second;
}

absl::Status MysqlVersionStore::SetTables(
    std::vector<TableRegistration> tables) {
  absl::flat_hash_map<std::string, TableRegistration> next;
  for (TableRegistration& registration : tables) {
    std::string name = registration.table;
    next.emplace(std::move(name), std::move(registration));
  }
  std::vector<std::string> touched;
  {
    absl::MutexLock lock(&tables_mu_);
    for (const auto& [name, registration] : tables_) touched.push_back(name);
    for (const auto& [name, registration] : next) touched.push_back(name);
    tables_ = next;
  }
  // Key and read-only columns may have changed: discover afresh.
  for (const std::string& name : touched) schemas_.Invalidate(name);

  // Replicas starting together register the same tables at once and can
  // deadlock on them: run it again then (it is idempotent).
  for (int attempt = 1;; ++attempt) {
    absl::Status registered = RegisterTables(next);
    if (registered.ok() || !absl::IsAborted(registered) || attempt == 5) {
      return registered;
    }
    absl::SleepFor(absl::Milliseconds(20 * attempt));
  }
}

absl::Status MysqlVersionStore::RegisterTables(
    const absl::flat_hash_map<std::string, TableRegistration>& next) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    if (!next.empty()) {
      // A table unregistered before (registered_at_us = 0) counts as newly
      // registered now: its rows are logged stamped with this time.
      std::vector<std::string> rows;
      for (const auto& [name, registration] : next) {
        rows.push_back(absl::StrCat("(", Literal(conn, name), ",",
                                    Literal(conn, registration.key_column), ",",
                                    clock_.NowMicros(), ")"));
      }
      Execute(conn,
              absl::StrCat("INSERT INTO `_sheetsync_tables` (tbl, key_column, "
                           "registered_at_us) VALUES ",
                           absl::StrJoin(rows, ","),
                           " ON DUPLICATE KEY UPDATE key_column = "
                           "VALUES(key_column), registered_at_us = "
                           "IF(registered_at_us = 0, VALUES(registered_at_us), "
                           "registered_at_us)"));
    }
    std::vector<std::string> dropped;
    auto rs = Query(
        conn, "SELECT tbl FROM `_sheetsync_tables` WHERE capture_sig <> ''");
    while (rs->next()) {
      std::string name = std::string(rs->getString(1));
      if (!next.contains(name)) dropped.push_back(std::move(name));
    }
    for (const std::string& name : dropped) StopCapture(conn, name);
  } catch (const sql::SQLException& e) {
    RollbackQuietly(conn);
    return MysqlErrorStatus(e, conn, "registering the tables");
  }
  return absl::OkStatus();
}

void MysqlVersionStore::StopCapture(PooledConnection& conn,
                                    const std::string& table) {
  const std::string tbl = Literal(conn, table);
  NamedLock lock(conn, CaptureLockName(table),
                 pool_.config().lock_wait_timeout_seconds);
  if (!lock.held()) {
    throw sql::SQLException("timed out waiting for the capture lock", "HY000",
                            1205);
  }
  DropCaptureTriggers(conn, table);
  Execute(conn,
          absl::StrCat("DELETE FROM `_sheetsync_capture` WHERE tbl = ", tbl));
  Execute(conn, absl::StrCat("UPDATE `_sheetsync_tables` SET capture_sig = '', "
                             "registered_at_us = 0 WHERE tbl = ",
                             tbl));
}

}  // namespace sheetsync
