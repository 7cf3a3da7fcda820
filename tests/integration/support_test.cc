// Self-test of tests/support: ChildProcess, the test MariaDB helpers and the
// HTTP client (against a tiny python3 server). The Stack is exercised by the
// integration tests that start the real binaries.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class TempDir {
 public:
  TempDir() {
    path_ = "/tmp/sheetsync-support-test-XXXXXX";
    if (mkdtemp(path_.data()) == nullptr) path_.clear();
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- ChildProcess
// -------------------------------------------------------------

TEST(ChildProcessTest, ReportsExitCode) {
  ChildProcess child;
  ASSERT_TRUE(child.Start("/bin/sh", {"-c", "exit 3"}).ok());
  EXPECT_GT(child.Pid(), 0);
  absl::StatusOr<ExitStatus> exit = child.Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Exited());
  EXPECT_EQ(exit->ExitCode(), 3);
  EXPECT_FALSE(child.Running());
  EXPECT_EQ(child.Pid(), -1);
}

TEST(ChildProcessTest, TerminateStopsSleepWithSigterm) {
  ChildProcess child;
  ASSERT_TRUE(child.Start("/bin/sleep", {"30"}).ok());
  absl::StatusOr<std::optional<ExitStatus>> poll = child.Poll();
  ASSERT_TRUE(poll.ok()) << poll.status();
  EXPECT_FALSE(poll->has_value());
  EXPECT_EQ(child.Wait(absl::Milliseconds(50)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<ExitStatus> exit = child.Terminate(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Signaled());
  EXPECT_EQ(exit->Signal(), SIGTERM);
  EXPECT_EQ(exit->ToString(), "killed by signal SIGTERM");
}

TEST(ChildProcessTest, TerminateEscalatesToSigkill) {
  ChildProcess child;
  // exec keeps the ignored SIGTERM, so sleep itself ignores it.
  ASSERT_TRUE(
      child.Start("/bin/sh", {"-c", "trap '' TERM; exec sleep 30"}).ok());
  absl::SleepFor(absl::Milliseconds(200));  // let sh install the trap and exec
  absl::StatusOr<ExitStatus> exit = child.Terminate(absl::Milliseconds(300));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->Signaled());
  EXPECT_EQ(exit->Signal(), SIGKILL);
}

TEST(ChildProcessTest, KillAfterExitIsRefused) {
  ChildProcess child;
  ASSERT_TRUE(child.Start("/bin/sleep", {"30"}).ok());
  ASSERT_TRUE(child.Kill(SIGKILL).ok());
  absl::StatusOr<ExitStatus> exit = child.Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->Signal(), SIGKILL);
  EXPECT_EQ(child.Kill(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
  // Terminate after the fact reports the last exit.
  absl::StatusOr<ExitStatus> again = child.Terminate();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->Signal(), SIGKILL);
}

TEST(ChildProcessTest, WritesOutputAndEnvironmentToLog) {
  TempDir dir;
  const std::string log = dir.path() + "/child.log";
  ChildProcess child;
  ASSERT_TRUE(child
                  .Start("sh",
                         {"-c", "echo out=$SHEETSYNC_SUPPORT_X; echo err >&2"},
                         {{"SHEETSYNC_SUPPORT_X", "forty two"}}, log)
                  .ok());
  ASSERT_TRUE(child.Wait(absl::Seconds(10)).ok());
  EXPECT_EQ(ReadFile(log), "out=forty two\nerr\n");
}

TEST(ChildProcessTest, DoesNotLeakDescriptors) {
  TempDir dir;
  const int fd = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(fd, 3);
  const std::string log = dir.path() + "/fds.log";
  ChildProcess child;
  ASSERT_TRUE(
      child
          .Start("/bin/sh",
                 {"-c", absl::StrCat("[ -e /proc/$$/fd/", fd,
                                     " ] && echo leaked || echo clean")},
                 {}, log)
          .ok());
  ASSERT_TRUE(child.Wait(absl::Seconds(10)).ok());
  close(fd);
  EXPECT_EQ(ReadFile(log), "clean\n");
}

TEST(ChildProcessTest, StartFailsForMissingBinary) {
  ChildProcess child;
  absl::Status status = child.Start("/nonexistent/sheetsync-nothing", {});
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("/nonexistent/sheetsync-nothing"));
  EXPECT_FALSE(child.Running());
}

TEST(ChildProcessTest, RefusesSecondStartWhileRunning) {
  ChildProcess child;
  ASSERT_TRUE(child.Start("/bin/sleep", {"30"}).ok());
  EXPECT_EQ(child.Start("/bin/sleep", {"30"}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ChildProcessTest, DestructorAndMoveStopTheChild) {
  pid_t pid = -1;
  {
    ChildProcess first;
    ASSERT_TRUE(first.Start("/bin/sleep", {"30"}).ok());
    pid = first.Pid();
    ChildProcess second = std::move(first);
    EXPECT_FALSE(first.Running());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(second.Pid(), pid);
  }
  // Reaped by the destructor: it is no longer our child.
  errno = 0;
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(FreePortsTest, ReturnsDistinctPorts) {
  absl::StatusOr<std::vector<int>> ports = FreePorts(20);
  ASSERT_TRUE(ports.ok()) << ports.status();
  std::set<int> unique(ports->begin(), ports->end());
  EXPECT_EQ(unique.size(), 20u);
  for (int port : *ports) EXPECT_GT(port, 0);
}

// --- The test MariaDB
// ------------------------------------------------------------

class MysqlTestEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
  }
  MysqlTestConfig config_;
};

TEST_F(MysqlTestEnvTest, ReadsTheFixtureFile) {
  EXPECT_EQ(config_.host, "127.0.0.1");
  EXPECT_GT(config_.port, 0);
  EXPECT_EQ(config_.user, "sheetsync");
  EXPECT_EQ(config_.password, "sheetsync");
  EXPECT_EQ(config_.database, "sheetsync_test");
  EXPECT_FALSE(config_.socket.empty());
}

TEST_F(MysqlTestEnvTest, MissingFileIsAPreconditionError) {
  EXPECT_EQ(LoadMysqlTestConfigFile("/nonexistent/mariadb.env").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MysqlTestEnvTest, TestUserHasOnlyTheDocumentedGrants) {
  auto session = MysqlSession::Connect(config_, config_.database);
  ASSERT_TRUE(session.ok()) << session.status();
  auto grants = (*session)->Query("SHOW GRANTS FOR CURRENT_USER()");
  ASSERT_TRUE(grants.ok()) << grants.status();
  std::string all;
  for (const SqlRow& row : *grants)
    absl::StrAppend(&all, row.at(0).value_or(""), "\n");
  EXPECT_THAT(all, HasSubstr("GRANT USAGE ON *.*"));
  EXPECT_THAT(
      all,
      HasSubstr("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, "
                "ALTER, TRIGGER ON `sheetsync_test`.*"));
  EXPECT_FALSE(absl::StrContains(all, "ALL PRIVILEGES")) << all;
  // No global rights: creating another database is refused (1044 access
  // denied).
  absl::Status create =
      (*session)->Execute("CREATE DATABASE sheetsync_not_allowed");
  EXPECT_EQ(MysqlErrorCode(create), 1044) << create;
}

TEST_F(MysqlTestEnvTest, QueriesReturnTextAndNulls) {
  auto session = MysqlSession::Connect(config_, config_.database);
  ASSERT_TRUE(session.ok()) << session.status();
  auto rows =
      (*session)->Query("SELECT 1, NULL, 'x' UNION ALL SELECT 2, 'y', NULL");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0], (SqlRow{"1", std::nullopt, "x"}));
  EXPECT_EQ((*rows)[1], (SqlRow{"2", "y", std::nullopt}));
  EXPECT_THAT((*session)->QueryValue("SELECT @@character_set_server").value(),
              Optional(std::string("utf8mb4")));
  EXPECT_EQ(
      (*session)->QueryValue("SELECT 1 FROM DUAL WHERE 0").status().code(),
      absl::StatusCode::kNotFound);
}

TEST_F(MysqlTestEnvTest, ScratchDatabasesAreSeparateAndUsable) {
  absl::StatusOr<ScratchDatabase> a =
      ScratchDatabase::Create(config_, "Support Test!");
  absl::StatusOr<ScratchDatabase> b =
      ScratchDatabase::Create(config_, "support_test");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->name(), b->name());
  EXPECT_TRUE(absl::StartsWith(a->name(), "support_test__")) << a->name();
  EXPECT_LE(a->name().size(), 64u);

  auto session = MysqlSession::Connect(config_, a->name());
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string insert =
      "INSERT INTO users (uuid, name, score) VALUES "
      "('4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f', 'Ada \xF0\x9F\x9A\x80 "
      "Lovelace', 42)";
  ASSERT_TRUE((*session)->Execute(insert).ok());
  absl::Status duplicate = (*session)->Execute(insert);
  EXPECT_EQ(MysqlErrorCode(duplicate), 1062) << duplicate;
  auto rows = (*session)->Query("SELECT uuid, name, email, score FROM users");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0],
            (SqlRow{"4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f",
                    "Ada \xF0\x9F\x9A\x80 Lovelace", std::nullopt, "42"}));
  // The engine's rights hold in a scratch database too (triggers, DDL).
  EXPECT_TRUE(
      (*session)->Execute("CREATE TABLE meta (id INT PRIMARY KEY)").ok());
  EXPECT_TRUE(
      (*session)
          ->Execute(
              "CREATE TRIGGER users_ai AFTER INSERT ON users FOR EACH ROW "
              "BEGIN INSERT INTO meta VALUES (NEW.score); END")
          .ok());
  auto other = MysqlSession::Connect(config_, b->name());
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_THAT((*other)->QueryValue("SELECT COUNT(*) FROM users").value(),
              Optional(std::string("0")));
}

TEST_F(MysqlTestEnvTest, DropDatabaseRemovesIt) {
  absl::StatusOr<std::string> name = CreateScratchDatabase(config_, "dropme");
  ASSERT_TRUE(name.ok()) << name.status();
  auto admin = MysqlSession::ConnectAdmin(config_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string count_sql = absl::StrCat(
      "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ",
      SqlQuote(*name));
  EXPECT_THAT((*admin)->QueryValue(count_sql).value(),
              Optional(std::string("1")));
  ASSERT_TRUE(DropDatabase(config_, *name).ok());
  EXPECT_THAT((*admin)->QueryValue(count_sql).value(),
              Optional(std::string("0")));
  EXPECT_TRUE(DropDatabase(config_, *name).ok());  // idempotent
}

TEST_F(MysqlTestEnvTest, AdminLogsInAsRootOverTheSocket) {
  auto admin = MysqlSession::ConnectAdmin(config_);
  ASSERT_TRUE(admin.ok()) << admin.status();
  auto user = (*admin)->QueryValue("SELECT CURRENT_USER()");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_THAT(*user, Optional(std::string("root@localhost")));
}

TEST_F(MysqlTestEnvTest, WrongPasswordIsRefused) {
  MysqlTestConfig bad = config_;
  bad.password = "wrong";
  auto session = MysqlSession::Connect(bad, bad.database);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(MysqlErrorCode(session.status()), 1045) << session.status();
}

TEST(SqlQuoteTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(SqlQuote("it's a \\ test"), "'it''s a \\\\ test'");
}

// --- HttpConnection
// -------------------------------------------------------------------

constexpr char kEchoServer[] = R"py(
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        reply = (self.command + " " + self.path + " " + self.headers.get("X-Test", "") +
                 " " + body.decode()).encode()
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("X-Echo", "yes")
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)
    do_GET = do_POST
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
)py";

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The system python3: a pyenv shim first in PATH takes seconds to start.
    const std::string python =
        access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    if (system(
            absl::StrCat("command -v ", python, " >/dev/null 2>&1").c_str()) !=
        0) {
      GTEST_SKIP() << "python3 not available";
    }
    const std::string script = dir_.path() + "/echo.py";
    std::ofstream(script) << kEchoServer;
    absl::StatusOr<std::vector<int>> ports = FreePorts(1);
    ASSERT_TRUE(ports.ok());
    port_ = ports->front();
    ASSERT_TRUE(server_
                    .Start(python, {script, std::to_string(port_)}, {},
                           dir_.path() + "/server.log")
                    .ok());
    for (int i = 0; i < 200; ++i) {
      if (HttpRequest(Url("/"), "GET", {}, "", absl::Seconds(1)).ok()) return;
      absl::SleepFor(absl::Milliseconds(50));
    }
    FAIL() << "echo server did not start: "
           << ReadFile(dir_.path() + "/server.log");
  }
  std::string Url(absl::string_view target) const {
    return absl::StrCat("http://127.0.0.1:", port_, target);
  }

  TempDir dir_;
  int port_ = 0;
  ChildProcess server_;
};

TEST_F(HttpClientTest, OneShotRequest) {
  absl::StatusOr<HttpResponse> r = HttpRequest(
      Url("/v1/edits?x=1"), "POST", {{"X-Test", "hdr"}}, "{\"a\":1}");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /v1/edits?x=1 hdr {\"a\":1}");
  EXPECT_THAT(r->Header("x-echo"), Optional(std::string("yes")));
  EXPECT_EQ(r->Header("X-Missing"), std::nullopt);
}

TEST_F(HttpClientTest, KeepAliveReusesTheConnectionUntilClose) {
  auto conn = HttpConnection::Connect("127.0.0.1", port_);
  ASSERT_TRUE(conn.ok()) << conn.status();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> r = (*conn)->Request("GET", "/missing");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 404);
    EXPECT_TRUE((*conn)->open());
  }
  EXPECT_EQ((*conn)->connects(), 1);
  absl::StatusOr<HttpResponse> closing = (*conn)->Request("GET", "/close");
  ASSERT_TRUE(closing.ok()) << closing.status();
  EXPECT_FALSE((*conn)->open());
  absl::StatusOr<HttpResponse> after =
      (*conn)->Request("POST", "/again", {}, "b");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->body, "POST /again  b");
  EXPECT_EQ((*conn)->connects(), 2);
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  absl::StatusOr<std::vector<int>> ports = FreePorts(1);
  ASSERT_TRUE(ports.ok());
  absl::StatusOr<HttpResponse> r = HttpRequest(
      absl::StrCat("http://127.0.0.1:", ports->front(), "/"), "GET");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ParseHttpUrlTest, SplitsHostPortAndTarget) {
  absl::StatusOr<HttpUrl> url =
      ParseHttpUrl("http://127.0.0.1:8080/readyz?a=b");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/readyz?a=b");
  EXPECT_EQ(ParseHttpUrl("http://example")->target, "/");
  EXPECT_EQ(ParseHttpUrl("ftp://x/").status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<HttpUrl> https = ParseHttpUrl("https://localhost/v1/edits");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->https);
  EXPECT_EQ(https->port, 443);
  EXPECT_FALSE(url->https);
}

}  // namespace
}  // namespace sheetsync::test
