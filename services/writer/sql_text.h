// Building SQL text safely: identifiers are quoted with backticks (and
// embedded backticks doubled); values go through the connection's escaping.
// Callers only quote names that were validated against the discovered
// schema or the table registry. Stateless; thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_SQL_TEXT_H_
#define SHEETSYNC_SERVICES_WRITER_SQL_TEXT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "cppconn/connection.h"
#include "cppconn/resultset.h"
#include "services/writer/mysql_pool.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Returns `name` as a quoted identifier: `na``me`.
std::string QuoteIdentifier(absl::string_view name);

// Returns 'escaped text' for a string literal.
std::string Literal(PooledConnection& conn, absl::string_view text);
// Appends it to `out`.
void AppendLiteral(PooledConnection& conn, std::string& out, absl::string_view text);

// Appends the literal for a value to `out`: NULL, DEFAULT or 'text'.
void AppendValueLiteral(PooledConnection& conn, std::string& out, const v1::SqlValue& value);

// Returns "('a','b',...)" for an IN list of string literals.
std::string InList(PooledConnection& conn,
                   const std::vector<std::string>& texts);

// Runs a query on `conn`; throws sql::SQLException (callers catch it at the
// edge of the MySQL adapter).
std::unique_ptr<sql::ResultSet> Query(PooledConnection& conn,
                                      const std::string& sql);

// Runs a statement; returns the affected row count. Throws like Query().
int Execute(PooledConnection& conn, const std::string& sql);

// Starts a transaction: START TRANSACTION. Throws like Query().
void Begin(PooledConnection& conn);

// Commits the transaction with a COMMIT statement. Throws like Query() when
// the server did not answer that it committed.
//
// Not Connector/C++'s Connection::commit(): with MariaDB shutting down, it
// was seen to return normally for a COMMIT the server never ran (the
// transaction was rolled back with the connection), so an acknowledged edit
// was lost; a statement's errors are reported (tests/integration/commit_test).
void Commit(PooledConnection& conn);

// Returns the first column of the first row as an integer (0 when none or
// NULL). Throws like Query().
int64_t QueryInt(PooledConnection& conn, const std::string& sql);

// Holds one of MySQL's named locks (GET_LOCK) on `conn` for as long as it
// lives, once taken: a lock between sessions that no table row stands for.
// The name is hashed with the database's name, so it is the database's own.
// Waits up to `timeout_s` (0: not at all) for another session to release
// it; held() says whether it was taken. Throws sql::SQLException when
// taking it fails. Releasing it cannot fail: a connection that cannot
// release is discarded, which does.
class NamedLock {
 public:
  NamedLock(PooledConnection& conn, absl::string_view name, int timeout_s);
  ~NamedLock();
  NamedLock(const NamedLock&) = delete;
  NamedLock& operator=(const NamedLock&) = delete;

  bool held() const { return held_; }

 private:
  PooledConnection& conn_;
  std::string name_;  // an SQL expression
  bool held_ = false;
};

// Sets the session's lock_wait_timeout (the wait of DDL for a table's
// metadata lock) to `seconds` for as long as it lives, then back to
// `restore`. 0 is NOWAIT on MariaDB; MySQL takes it as 1 s. Throws
// sql::SQLException; a connection that cannot restore it is discarded.
class LockWaitTimeout {
 public:
  LockWaitTimeout(PooledConnection& conn, int seconds, int restore);
  ~LockWaitTimeout();
  LockWaitTimeout(const LockWaitTimeout&) = delete;
  LockWaitTimeout& operator=(const LockWaitTimeout&) = delete;

 private:
  PooledConnection& conn_;
  int restore_;
};

// Statements sent to MySQL together, in one round trip (the pool's
// connections allow multi-statements). MySQL runs them in order and stops at
// the first that fails. Not thread-safe; use once.
class SqlBatch {
 public:
  using Reader = std::function<void(sql::ResultSet&)>;

  // Adds a statement without a result set; returns its index.
  int Add(std::string sql);
  // Adds a query whose rows `read` consumes while the batch runs (it must
  // not throw); returns its index.
  int AddQuery(std::string sql, Reader read);

  // Runs the statements. Throws the sql::SQLException of the first failing
  // one, whose index failed_index() then returns; the connection stays
  // usable (an open transaction is the caller's to roll back).
  void Run(PooledConnection& conn);
  int failed_index() const { return failed_index_; }

 private:
  std::string text_;
  std::vector<Reader> readers_;  // one per statement; empty: no result set
  int failed_index_ = -1;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_SQL_TEXT_H_
