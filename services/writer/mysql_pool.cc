#include "services/writer/mysql_pool.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "cppconn/exception.h"
#include "cppconn/statement.h"
#include "mysql_driver.h"

namespace sheetsync {
namespace {

struct ThreadGuard {
  ThreadGuard() { sql::mysql::get_mysql_driver_instance()->threadInit(); }
  ~ThreadGuard() { sql::mysql::get_mysql_driver_instance()->threadEnd(); }
};

int Seconds(absl::Duration d) {
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Seconds(d)));
}

}  // namespace

void EnsureMysqlThreadInit() { thread_local ThreadGuard guard; }

bool IsRetryableMysqlError(int code) { return code == 1213 || code == 1205; }

bool IsConnectionMysqlError(int code) {
  return code == 2002 || code == 2003 || code == 2006 || code == 2013 ||
         code == 2055 || code == 1927 || code == 1053;
}

PooledConnection::PooledConnection(MysqlPool& pool,
                                   std::unique_ptr<sql::Connection> conn)
    : pool_(&pool), conn_(std::move(conn)) {}

PooledConnection::~PooledConnection() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_), discard_);
}

void PooledConnection::AppendEscaped(std::string& out, absl::string_view text) const {
  out.reserve(out.size() + text.size() + 8);
  for (const char c : text) {
    switch (c) {
      case '\0': out += "\\0"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\032': out += "\\Z"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '"': out += "\\\""; break;
      default: out.push_back(c);
    }
  }
}

MysqlPool::MysqlPool(MysqlConfig config) : config_(std::move(config)) {
  sql::mysql::get_mysql_driver_instance();  // initialise before threads use it
}

MysqlPool::~MysqlPool() {
  EnsureMysqlThreadInit();
  absl::MutexLock lock(&mu_);
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<sql::Connection>> MysqlPool::Open() {
  EnsureMysqlThreadInit();
  sql::ConnectOptionsMap options;
  options["hostName"] = config_.host;
  options["port"] = config_.port;
  options["userName"] = config_.user;
  options["password"] = config_.password;
  options["schema"] = config_.database;
  options["OPT_CONNECT_TIMEOUT"] = Seconds(config_.connect_timeout);
  options["OPT_READ_TIMEOUT"] = Seconds(config_.io_timeout);
  options["OPT_WRITE_TIMEOUT"] = Seconds(config_.io_timeout);
  options["OPT_RECONNECT"] = false;  // a silent reconnect loses the transaction
  options["OPT_CHARSET_NAME"] = std::string("utf8mb4");
  // Apply sends a transaction's statements in one round trip (SqlBatch).
  // Every value in them is escaped by the connection and every name is
  // checked against the schema and quoted, as for single statements.
  options["CLIENT_MULTI_STATEMENTS"] = true;
  if (config_.tls.mode != MysqlTls::Mode::kDisabled) {
    // Connector/C++ maps these onto MariaDB Connector/C's SSL options:
    // sslEnforce refuses a server without TLS, sslVerify checks the server's
    // certificate chain and its name against the host connected to.
    options["sslEnforce"] = true;
    options["sslVerify"] = config_.tls.mode == MysqlTls::Mode::kVerifyIdentity;
    if (!config_.tls.ca.empty()) options["sslCA"] = config_.tls.ca;
    if (!config_.tls.cert.empty()) options["sslCert"] = config_.tls.cert;
    if (!config_.tls.key.empty()) options["sslKey"] = config_.tls.key;
  }
  try {
    std::unique_ptr<sql::Connection> conn(
        sql::mysql::get_mysql_driver_instance()->connect(options));
    std::unique_ptr<sql::Statement> stmt(conn->createStatement());
    stmt->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    // Row locks (InnoDB) and table locks (metadata locks: LOCK TABLES, a
    // DDL copying the table) alike: a statement waits this long, then fails
    // with 1205 and is retried. Table locks waited a year by default, and
    // the read timeout dropped the connection while the server went on with
    // the batch, COMMIT included, once the lock was gone.
    stmt->execute(absl::StrCat(
        "SET SESSION innodb_lock_wait_timeout = ",
        config_.lock_wait_timeout_seconds,
        ", lock_wait_timeout = ", config_.lock_wait_timeout_seconds));
    // Strict, and with backslash escapes whatever the server's default: the
    // literals' escaping (AppendEscaped) depends on it.
    stmt->execute(
        "SET SESSION sql_mode = CONCAT(REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', ''), "
        "',STRICT_ALL_TABLES')");
    stmt->execute("SET time_zone = '+00:00'");
    stmt->execute("SET @sheetsync_writer = 1");
    return conn;
  } catch (const sql::SQLException& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to MySQL at ", config_.host, ":",
                     config_.port, ": ", e.what(), " (", e.getErrorCode(), ")"));
  }
}

void MysqlPool::Report() {
  if (metrics_ == nullptr) return;
  const double idle = static_cast<double>(idle_.size());
  metrics_->SetPoolConnections(open_ - idle, idle);
}

absl::StatusOr<PooledConnection> MysqlPool::Acquire(absl::Duration wait) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + wait;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < config_.pool_size;
    };
    const bool got =
        mu_.AwaitWithDeadline(absl::Condition(&available), deadline);
    // Waits that timed out too: the slowest are the ones that matter.
    if (metrics_ != nullptr) {
      metrics_->ObservePoolWait(absl::ToDoubleSeconds(absl::Now() - start));
    }
    if (!got) return absl::UnavailableError("MySQL connection pool exhausted");
    if (!idle_.empty()) {
      std::unique_ptr<sql::Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      Report();
      return PooledConnection(*this, std::move(conn));
    }
    ++open_;  // reserve a slot, then connect without holding the lock
    Report();
  }
  absl::StatusOr<std::unique_ptr<sql::Connection>> conn = Open();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    Report();
    return conn.status();
  }
  return PooledConnection(*this, *std::move(conn));
}

void MysqlPool::Release(std::unique_ptr<sql::Connection> conn, bool discard) {
  EnsureMysqlThreadInit();
  if (discard) {
    conn.reset();  // closes it, outside the lock
    absl::MutexLock lock(&mu_);
    --open_;
    Report();
    return;
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(conn));
  Report();
}

}  // namespace sheetsync
