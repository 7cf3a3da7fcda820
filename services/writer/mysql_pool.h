// A fixed-size pool of MySQL Connector/C++ connections. Thread-safe.
//
// Connections are opened lazily and replaced when they break; every one has
// client-side connect/read/write timeouts, a lock-wait timeout, READ
// COMMITTED isolation and utf8mb4, and marks itself as the sync engine's own
// session (@sheetsync_writer = 1) so that capture triggers ignore its writes.
#ifndef SHEETSYNC_SERVICES_WRITER_MYSQL_POOL_H_
#define SHEETSYNC_SERVICES_WRITER_MYSQL_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/writer/writer_metrics.h"

namespace sql {
class Connection;
}  // namespace sql

namespace sheetsync {

// TLS to MySQL. kRequired encrypts but trusts any server certificate;
// kVerifyIdentity checks it against `ca` and the host name.
struct MysqlTls {
  enum class Mode { kDisabled, kRequired, kVerifyIdentity };
  Mode mode = Mode::kDisabled;
  std::string ca;    // PEM file of the CA that issued the server's certificate
  std::string cert;  // PEM files of a client certificate and its key, for
  std::string key;   // users created REQUIRE X509 (optional)
};

struct MysqlConfig {
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;
  std::string database;
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration io_timeout = absl::Seconds(10);  // per statement round trip
  int lock_wait_timeout_seconds = 5;
  MysqlTls tls;
};

class MysqlPool;

// A connection borrowed from the pool; returned when destroyed. Call
// Discard() after an error that may have broken the connection.
class PooledConnection {
 public:
  PooledConnection(MysqlPool& pool, std::unique_ptr<sql::Connection> conn);
  ~PooledConnection();
  PooledConnection(PooledConnection&&) = default;

  sql::Connection& operator*() { return *conn_; }
  sql::Connection* operator->() { return conn_.get(); }
  void Discard() { discard_ = true; }

  // Appends `text` escaped for a single-quoted SQL literal on this connection.
  //
  // The pool's sessions speak utf8mb4 and never have NO_BACKSLASH_ESCAPES
  // (the pool clears it), so this is what mysql_real_escape_string() does
  // for them, without a round trip through Connector/C++'s strings: NUL, LF,
  // CR, Ctrl-Z, backslash and both quotes are backslash-escaped byte by byte.
  // No byte of a multi-byte UTF-8 character is ASCII, so no character can
  // hide a quote (tests/integration/sql_literal_test checks both claims).
  void AppendEscaped(std::string& out, absl::string_view text) const;

 private:
  MysqlPool* pool_;
  std::unique_ptr<sql::Connection> conn_;
  bool discard_ = false;
};

class MysqlPool {
 public:
  explicit MysqlPool(MysqlConfig config);
  ~MysqlPool();

  // Borrows a connection, waiting up to `wait` for a free one. Unavailable
  // when MySQL cannot be reached or the pool stays exhausted.
  absl::StatusOr<PooledConnection> Acquire(absl::Duration wait);

  const MysqlConfig& config() const { return config_; }

  // Reports connections and waits to `metrics` (may be null). Call before
  // the pool is shared between threads; `metrics` must outlive the pool.
  void set_metrics(WriterMetrics* metrics) { metrics_ = metrics; }

 private:
  friend class PooledConnection;
  void Release(std::unique_ptr<sql::Connection> conn, bool discard);
  absl::StatusOr<std::unique_ptr<sql::Connection>> Open();

  // Updates the connection gauges (called with mu_ held).
  void Report() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const MysqlConfig config_;
  WriterMetrics* metrics_ = nullptr;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<sql::Connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + borrowed
};

// Calls the Connector's per-thread initialisation once for the calling
// thread (and its clean-up when the thread exits).
void EnsureMysqlThreadInit();

// Returns true for MySQL error codes after which the transaction may simply
// be retried (deadlock, lock-wait timeout).
bool IsRetryableMysqlError(int code);
// Returns true for error codes that mean the server is unreachable.
bool IsConnectionMysqlError(int code);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_MYSQL_POOL_H_
