#include "tests/support/mysql_test_env.h"

#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_connection.h>
#include <mysql_driver.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "services/common/status_macros.h"

namespace sheetsync::test {
namespace {

constexpr char kErrnoPayload[] = "sheetsync.test/mysql_errno";
// The rights scripts/lib.sh (mysql_bootstrap) gives the engine's user.
constexpr char kUserGrants[] =
    "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, TRIGGER, DROP";

sql::mysql::MySQL_Driver* Driver() {
  // Connector/C++ 1.1 creates its driver without a lock: do it exactly once.
  static sql::mysql::MySQL_Driver* const driver =
      sql::mysql::get_mysql_driver_instance();
  return driver;
}

absl::Status FromSqlException(const sql::SQLException& e,
                              absl::string_view what) {
  const int code = e.getErrorCode();
  // 2002/2003: no server; 2006/2013: connection lost.
  const bool unavailable =
      code == 2002 || code == 2003 || code == 2006 || code == 2013;
  absl::Status status(unavailable ? absl::StatusCode::kUnavailable
                                  : absl::StatusCode::kInternal,
                      absl::StrFormat("%s: mysql error %d (%s): %s", what, code,
                                      e.getSQLState(), e.what()));
  status.SetPayload(kErrnoPayload, absl::Cord(absl::StrCat(code)));
  return status;
}

std::string Identifier(absl::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

// Returns "'user'@'localhost', 'user'@'%'" for GRANT/REVOKE.
std::string UserAccounts(const MysqlTestConfig& config) {
  return absl::StrCat(SqlQuote(config.user), "@'localhost', ",
                      SqlQuote(config.user), "@'%'");
}

std::string UniqueDatabaseName(absl::string_view prefix) {
  static std::atomic<int> counter{0};
  static const uint32_t salt = std::random_device{}();
  std::string clean;
  for (char c : prefix) {
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
    clean += absl::ascii_isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  if (clean.empty()) clean = "t";
  clean.resize(std::min<size_t>(clean.size(), 32));
  return absl::StrFormat("%s_%d_%d_%06x", clean, getpid(), counter.fetch_add(1),
                         salt & 0xffffff);
}

absl::Status ApplyConfigLine(absl::string_view line, MysqlTestConfig& config) {
  const size_t eq = line.find('=');
  if (eq == absl::string_view::npos) return absl::OkStatus();
  const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, eq));
  const std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
  if (key == "SHEETSYNC_MYSQL_HOST") config.host = value;
  if (key == "SHEETSYNC_MYSQL_USER") config.user = value;
  if (key == "SHEETSYNC_MYSQL_PASSWORD") config.password = value;
  if (key == "SHEETSYNC_MYSQL_DATABASE") config.database = value;
  if (key == "SHEETSYNC_MYSQL_SOCKET") config.socket = value;
  if (key == "SHEETSYNC_MYSQL_ADMIN_USER") config.admin_user = value;
  if (key == "SHEETSYNC_MYSQL_PORT" && !absl::SimpleAtoi(value, &config.port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad port: ", value));
  }
  return absl::OkStatus();
}

}  // namespace

const char kCreateUsersTableSql[] =
    "CREATE TABLE IF NOT EXISTS users ("
    " uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NULL,"
    " email VARCHAR(255) NULL,"
    " score INT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

absl::StatusOr<MysqlTestConfig> LoadMysqlTestConfig() {
  const char* path = std::getenv("SHEETSYNC_TEST_MYSQL_ENV");
  if (path == nullptr || *path == '\0') {
    return absl::FailedPreconditionError(
        "SHEETSYNC_TEST_MYSQL_ENV is not set: register the test with "
        "FIXTURES mariadb and ENV SHEETSYNC_TEST_MYSQL_ENV=... "
        "(tests/CMakeLists.txt)");
  }
  return LoadMysqlTestConfigFile(path);
}

absl::StatusOr<MysqlTestConfig> LoadMysqlTestConfigFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", path, " (did the mariadb_setup fixture run?)"));
  }
  MysqlTestConfig config;
  std::string line;
  while (std::getline(in, line)) RETURN_IF_ERROR(ApplyConfigLine(line, config));
  if (config.port <= 0 || config.user.empty() || config.database.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " lacks SHEETSYNC_MYSQL_PORT, _USER or _DATABASE"));
  }
  return config;
}

std::string SqlQuote(absl::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c == '\'' ? '\'' : '\\';
    out += c;
  }
  return out + "'";
}

int MysqlErrorCode(const absl::Status& status) {
  const auto payload = status.GetPayload(kErrnoPayload);  // absl::optional here
  int code = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &code)) {
    return code;
  }
  return 0;
}

absl::StatusOr<std::string> CreateScratchDatabase(const MysqlTestConfig& config,
                                                  absl::string_view prefix) {
  const std::string name = UniqueDatabaseName(prefix);
  ASSIGN_OR_RETURN(std::unique_ptr<MysqlSession> admin,
                   MysqlSession::ConnectAdmin(config));
  RETURN_IF_ERROR(admin->Execute(
      absl::StrCat("CREATE DATABASE ", Identifier(name),
                   " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")));
  RETURN_IF_ERROR(admin->Execute(absl::StrCat("GRANT ", kUserGrants, " ON ",
                                              Identifier(name), ".* TO ",
                                              UserAccounts(config))));
  RETURN_IF_ERROR(admin->Execute(absl::StrCat("USE ", Identifier(name))));
  RETURN_IF_ERROR(admin->Execute(kCreateUsersTableSql));
  return name;
}

absl::Status DropDatabase(const MysqlTestConfig& config,
                          absl::string_view name) {
  ASSIGN_OR_RETURN(std::unique_ptr<MysqlSession> admin,
                   MysqlSession::ConnectAdmin(config));
  RETURN_IF_ERROR(admin->Execute(
      absl::StrCat("DROP DATABASE IF EXISTS ", Identifier(name))));
  // The grant outlives the database in mysql.db; 1141 means there was none.
  absl::Status revoked =
      admin->Execute(absl::StrCat("REVOKE ALL PRIVILEGES ON ", Identifier(name),
                                  ".* FROM ", UserAccounts(config)));
  if (!revoked.ok() && MysqlErrorCode(revoked) != 1141) return revoked;
  return absl::OkStatus();
}

// --- MysqlSession -----------------------------------------------------------

namespace {

absl::StatusOr<std::unique_ptr<MysqlSession>> ConnectWith(
    sql::ConnectOptionsMap options, const std::string& database) {
  options["OPT_CONNECT_TIMEOUT"] = 5;
  options["OPT_READ_TIMEOUT"] = 30;
  options["OPT_WRITE_TIMEOUT"] = 30;
  options["OPT_RECONNECT"] = false;
  options["OPT_CHARSET_NAME"] = std::string("utf8mb4");
  if (!database.empty()) options["schema"] = database;
  sql::mysql::MySQL_Driver* driver = Driver();
  try {
    driver->threadInit();  // idempotent; needed once per thread
    std::unique_ptr<sql::Connection> connection(driver->connect(options));
    return MysqlSession::Adopt(std::move(connection));
  } catch (const sql::SQLException& e) {
    return FromSqlException(e, "connect");
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<MysqlSession>> MysqlSession::Connect(
    const MysqlTestConfig& config, const std::string& database) {
  sql::ConnectOptionsMap options;
  options["hostName"] = config.host;
  options["port"] = config.port;
  options["userName"] = config.user;
  options["password"] = config.password;
  return ConnectWith(std::move(options), database);
}

absl::StatusOr<std::unique_ptr<MysqlSession>> MysqlSession::ConnectAdmin(
    const MysqlTestConfig& config, const std::string& database) {
  if (config.socket.empty()) {
    return absl::FailedPreconditionError(
        "no SHEETSYNC_MYSQL_SOCKET for admin login");
  }
  sql::ConnectOptionsMap options;
  options["hostName"] = absl::StrCat("unix://", config.socket);
  options["userName"] = config.admin_user;
  options["password"] = std::string();
  return ConnectWith(std::move(options), database);
}

std::unique_ptr<MysqlSession> MysqlSession::Adopt(
    std::unique_ptr<sql::Connection> connection) {
  return std::unique_ptr<MysqlSession>(new MysqlSession(std::move(connection)));
}

MysqlSession::MysqlSession(std::unique_ptr<sql::Connection> connection)
    : connection_(std::move(connection)) {}

MysqlSession::~MysqlSession() = default;

absl::Status MysqlSession::Execute(const std::string& sql) {
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    if (statement->execute(sql)) {
      std::unique_ptr<sql::ResultSet> discarded(statement->getResultSet());
    }
    return absl::OkStatus();
  } catch (const sql::SQLException& e) {
    return FromSqlException(e, sql);
  }
}

absl::StatusOr<std::vector<SqlRow>> MysqlSession::Query(
    const std::string& sql) {
  try {
    std::unique_ptr<sql::Statement> statement(connection_->createStatement());
    std::unique_ptr<sql::ResultSet> result(statement->executeQuery(sql));
    const unsigned int columns = result->getMetaData()->getColumnCount();
    std::vector<SqlRow> rows;
    while (result->next()) {
      SqlRow& row = rows.emplace_back();
      for (unsigned int i = 1; i <= columns; ++i) {
        if (result->isNull(i)) {
          row.push_back(std::nullopt);
        } else {
          row.push_back(std::string(result->getString(i)));
        }
      }
    }
    return rows;
  } catch (const sql::SQLException& e) {
    return FromSqlException(e, sql);
  }
}

absl::StatusOr<std::optional<std::string>> MysqlSession::QueryValue(
    const std::string& sql) {
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows, Query(sql));
  if (rows.empty() || rows.front().empty()) {
    return absl::NotFoundError(absl::StrCat("no row from: ", sql));
  }
  return rows.front().front();
}

// --- ScratchDatabase --------------------------------------------------------

absl::StatusOr<ScratchDatabase> ScratchDatabase::Create(
    const MysqlTestConfig& config, absl::string_view prefix) {
  ASSIGN_OR_RETURN(std::string name, CreateScratchDatabase(config, prefix));
  return ScratchDatabase(config, std::move(name));
}

ScratchDatabase::ScratchDatabase(ScratchDatabase&& other) noexcept
    : config_(std::move(other.config_)),
      name_(std::exchange(other.name_, "")) {}

ScratchDatabase& ScratchDatabase::operator=(ScratchDatabase&& other) noexcept {
  if (this != &other) {
    if (!name_.empty()) DropDatabase(config_, name_).IgnoreError();
    config_ = std::move(other.config_);
    name_ = std::exchange(other.name_, "");
  }
  return *this;
}

ScratchDatabase::~ScratchDatabase() {
  if (!name_.empty()) DropDatabase(config_, name_).IgnoreError();
}

absl::StatusOr<std::unique_ptr<OwnMariadb>> OwnMariadb::Start(absl::string_view name,
                                                             absl::string_view server_args) {
  std::unique_ptr<OwnMariadb> db(
      new OwnMariadb(absl::StrCat(::testing::TempDir(), name, "-mariadb-", getpid()),
                     std::string(server_args)));
  RETURN_IF_ERROR(db->Run(absl::StrCat(SHEETSYNC_SOURCE_DIR "/tests/fixtures/mariadb.sh start ",
                                       db->dir_)));
  ASSIGN_OR_RETURN(db->config_, LoadMysqlTestConfigFile(db->dir_ + "/mariadb.env"));
  return db;
}

OwnMariadb::~OwnMariadb() { (void)Stop(); }

absl::Status OwnMariadb::Stop() {
  return Run(absl::StrCat(SHEETSYNC_SOURCE_DIR "/tests/fixtures/mariadb.sh stop ", dir_));
}

absl::Status OwnMariadb::Restart() {
  return Run(absl::StrCat("bash -c 'source " SHEETSYNC_SOURCE_DIR "/scripts/lib.sh && mariadb_stop ",
                          dir_, "/mariadb && mariadb_start ", dir_, "/mariadb ", config_.port,
                          "'"));
}

absl::Status OwnMariadb::Run(const std::string& command) const {
  const std::string line =
      absl::StrCat("SHEETSYNC_MARIADB_ARGS='", server_args_, "' ", command, " >&2");
  if (std::system(line.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("failed: ", line));
  }
  return absl::OkStatus();
}

}  // namespace sheetsync::test
