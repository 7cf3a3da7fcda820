// The MariaDB that integration tests run against, and a small SQL session.
//
// The `mariadb` CTest fixture (tests/fixtures/mariadb.sh) starts a throwaway
// server and writes a KEY=VALUE file whose path tests receive in the
// environment variable SHEETSYNC_TEST_MYSQL_ENV. Tests that run in parallel
// share that server, so each one works in its own scratch database:
//
//   absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
//   ASSERT_TRUE(config.ok()) << config.status();
//   absl::StatusOr<ScratchDatabase> db = ScratchDatabase::Create(*config,
//   "edits"); ASSERT_TRUE(db.ok()) << db.status(); auto session =
//   MysqlSession::Connect(*config, db->name());  // StatusOr<unique_ptr>
//   ASSERT_TRUE(session.ok()) << session.status();
//   EXPECT_TRUE((*session)->Execute("INSERT INTO users (uuid) VALUES
//   ('…')").ok());
//
// Free functions are thread-safe; a MysqlSession is used by one thread at a
// time.
#ifndef SHEETSYNC_TESTS_SUPPORT_MYSQL_TEST_ENV_H_
#define SHEETSYNC_TESTS_SUPPORT_MYSQL_TEST_ENV_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sql {
class Connection;
}  // namespace sql

namespace sheetsync::test {

// Where the test MariaDB listens and how to log in (the fixture's env file).
struct MysqlTestConfig {
  std::string host = "127.0.0.1";  // SHEETSYNC_MYSQL_HOST
  int port = 0;                    // SHEETSYNC_MYSQL_PORT
  std::string user;                // SHEETSYNC_MYSQL_USER (least privilege)
  std::string password;            // SHEETSYNC_MYSQL_PASSWORD
  std::string database;            // SHEETSYNC_MYSQL_DATABASE (sheetsync_test)
  std::string socket;              // SHEETSYNC_MYSQL_SOCKET (root logs in here)
  std::string admin_user = "root";  // SHEETSYNC_MYSQL_ADMIN_USER, no password
};

// Reads the file named by $SHEETSYNC_TEST_MYSQL_ENV. FailedPrecondition when
// the variable is unset (the test was not registered with FIXTURES mariadb).
absl::StatusOr<MysqlTestConfig> LoadMysqlTestConfig();
// Reads KEY=VALUE lines from `path`; unknown keys are ignored.
absl::StatusOr<MysqlTestConfig> LoadMysqlTestConfigFile(
    const std::string& path);

// Creates a database named `<prefix>_<unique suffix>` (utf8mb4), grants the
// test user the same least-privilege rights on it as on the fixture's
// database, creates the demo table `users` in it and returns its name.
// `prefix` is reduced to [a-z0-9_] and shortened so the name fits 64 bytes.
absl::StatusOr<std::string> CreateScratchDatabase(const MysqlTestConfig& config,
                                                  absl::string_view prefix);
// Drops database `name` (no error when it does not exist).
absl::Status DropDatabase(const MysqlTestConfig& config,
                          absl::string_view name);

// The SQL that creates the demo table `users` in the current database.
extern const char kCreateUsersTableSql[];

// A row of a result: NULL is std::nullopt, everything else its text form.
using SqlRow = std::vector<std::optional<std::string>>;

// One connection (Connector/C++ 1.1) with 5 s connect and 30 s read/write
// timeouts and no automatic reconnect. Errors come back as absl::Status whose
// message holds the MySQL error number; see MysqlErrorCode().
class MysqlSession {
 public:
  // Connects over TCP as the test user; `database` may be empty.
  static absl::StatusOr<std::unique_ptr<MysqlSession>> Connect(
      const MysqlTestConfig& config, const std::string& database);
  // Connects as the admin user (root) over the unix socket.
  static absl::StatusOr<std::unique_ptr<MysqlSession>> ConnectAdmin(
      const MysqlTestConfig& config, const std::string& database = "");

  // Wraps an open connection (e.g. one a test configured itself).
  static std::unique_ptr<MysqlSession> Adopt(
      std::unique_ptr<sql::Connection> connection);

  ~MysqlSession();
  MysqlSession(const MysqlSession&) = delete;
  MysqlSession& operator=(const MysqlSession&) = delete;

  // Runs one statement; a result set, if any, is discarded.
  absl::Status Execute(const std::string& sql);
  // Runs one query and returns every row.
  absl::StatusOr<std::vector<SqlRow>> Query(const std::string& sql);
  // Runs a query expected to return exactly one value (first column of the
  // only row). NotFound when it returns no row.
  absl::StatusOr<std::optional<std::string>> QueryValue(const std::string& sql);

 private:
  explicit MysqlSession(std::unique_ptr<sql::Connection> connection);
  std::unique_ptr<sql::Connection> connection_;
};

// Returns the MySQL error number carried by a status from MysqlSession
// (e.g. 1062 duplicate key), or 0 when it carries none.
int MysqlErrorCode(const absl::Status& status);

// Quotes `value` as an SQL string literal ('…' with ' and \ escaped).
std::string SqlQuote(absl::string_view value);

// A scratch database that is dropped when this object is destroyed.
class ScratchDatabase {
 public:
  static absl::StatusOr<ScratchDatabase> Create(const MysqlTestConfig& config,
                                                absl::string_view prefix);
  ScratchDatabase(ScratchDatabase&& other) noexcept;
  ScratchDatabase& operator=(ScratchDatabase&& other) noexcept;
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  ~ScratchDatabase();

  const std::string& name() const { return name_; }

 private:
  ScratchDatabase(MysqlTestConfig config, std::string name)
      : config_(std::move(config)), name_(std::move(name)) {}
  MysqlTestConfig config_;
  std::string name_;  // empty when moved from
};

// A MariaDB of a test's own (tests/fixtures/mariadb.sh in a fresh temporary
// directory), for a test that restarts it or needs server options the shared
// one must not have. Stopped and deleted when destroyed.
class OwnMariadb {
 public:
  // `server_args` are extra mariadbd options (SHEETSYNC_MARIADB_ARGS).
  static absl::StatusOr<std::unique_ptr<OwnMariadb>> Start(absl::string_view name,
                                                           absl::string_view server_args = "");
  ~OwnMariadb();
  OwnMariadb(const OwnMariadb&) = delete;
  OwnMariadb& operator=(const OwnMariadb&) = delete;

  const MysqlTestConfig& config() const { return config_; }
  // The fixture's directory; the server's files are under dir()/mariadb.
  const std::string& dir() const { return dir_; }

  // Shuts the server down and starts it again on the same port and data.
  absl::Status Restart();
  // Shuts the server down and deletes its files (the destructor then has
  // nothing left to do).
  absl::Status Stop();

 private:
  OwnMariadb(std::string dir, std::string server_args)
      : dir_(std::move(dir)), server_args_(std::move(server_args)) {}
  // Runs `command` with the server options in the environment; its output
  // goes to the test's log.
  absl::Status Run(const std::string& command) const;

  std::string dir_;
  std::string server_args_;
  MysqlTestConfig config_;
};

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_MYSQL_TEST_ENV_H_
