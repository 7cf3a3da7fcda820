// Outages: with the writer or MySQL down, POST /v1/edits answers 503 with
// Retry-After and acknowledges nothing; once they are back, the same body
// goes through.

#include <signal.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/status_macros.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/process.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

constexpr char kToken[] = "outage-token";
const std::string kRow = "20000000-0000-4000-8000-000000000001";

std::string Body(const std::string& event_id) {
  return EditsBody("users", {{event_id, kRow, Rfc3339(1764082869000000), false,
                              {{"name", "during outage"}}}});
}

// Waits until /readyz answers `status`; returns whether it did.
bool WaitReadyz(const Stack& stack, int status) {
  for (int i = 0; i < 100; ++i) {
    auto r = HttpRequest(stack.gateway_url() + "/readyz", "GET");
    if (r.ok() && r->status == status) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

TEST(OutageTest, WriterDownAnswers503AndNothingIsAcknowledged) {
  absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<ScratchDatabase> db = ScratchDatabase::Create(*config, "outage");
  ASSERT_TRUE(db.ok()) << db.status();
  StackOptions options;
  options.mysql = *config;
  options.database = db->name();
  options.token = kToken;
  absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const Api api((*stack)->gateway_url(), kToken);

  StackProcess& writer = (*stack)->process(Tier::kWriter, 0);
  ASSERT_TRUE(writer.child.Kill(SIGKILL).ok());
  ASSERT_TRUE(writer.child.Wait(absl::Seconds(10)).ok());
  auto down = api.Edits(Body("outage-1"));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->status, 503) << down->http.body;
  EXPECT_TRUE(down->http.Header("Retry-After").has_value());
  EXPECT_EQ(Str(down->json, {"error", "code"}), "unavailable");
  // The detail (gRPC's "failed to connect to ... ipv4:127.0.0.1:PORT") is
  // for the operator's log, not the client.
  EXPECT_THAT(down->http.body,
              ::testing::Not(::testing::HasSubstr("127.0.0.1")));
  EXPECT_THAT(down->http.body, ::testing::HasSubstr("(UNAVAILABLE)"));
  EXPECT_TRUE(WaitReadyz(**stack, 503));
  // /readyz is public too: it says which backend by its place in the list.
  auto readyz = HttpRequest((*stack)->gateway_url() + "/readyz", "GET");
  ASSERT_TRUE(readyz.ok()) << readyz.status();
  EXPECT_THAT(readyz->body, ::testing::HasSubstr("unreachable"));
  EXPECT_THAT(readyz->body, ::testing::Not(::testing::HasSubstr("127.0.0.1")));

  ASSERT_TRUE((*stack)->Restart((*stack)->index(Tier::kWriter, 0)).ok());
  auto session = MysqlSession::Connect(*config, db->name());
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(*(*session)->QueryValue("SELECT COUNT(*) FROM users"), "0");
  // The retry of the same body is safe and now goes through.
  absl::StatusOr<ApiResponse> up;
  for (int i = 0; i < 100; ++i) {
    up = api.Edits(Body("outage-1"));
    if (up.ok() && up->status == 200) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(up.ok() && up->status == 200) << (up.ok() ? up->http.body : "");
  EXPECT_EQ(Str(up->result(0), {"status"}), "applied");
}

// A MariaDB of a test's own, so that stopping or reconfiguring it disturbs no
// other test, and a stack on it (stopped first: declared last).
struct OwnStack {
  std::unique_ptr<OwnMariadb> db;
  std::unique_ptr<Stack> stack;
};

absl::StatusOr<OwnStack> StartOwnStack(absl::string_view name) {
  OwnStack own;
  ASSIGN_OR_RETURN(own.db, OwnMariadb::Start(name));
  StackOptions options;
  options.mysql = own.db->config();
  options.database = own.db->config().database;
  options.token = kToken;
  ASSIGN_OR_RETURN(own.stack, Stack::Start(options));
  return own;
}

TEST(OutageTest, MysqlDownAnswers503AndReadyzFails) {
  absl::StatusOr<OwnStack> own = StartOwnStack("outage");
  ASSERT_TRUE(own.ok()) << own.status();
  Stack* stack = own->stack.get();
  const Api api(stack->gateway_url(), kToken);
  ASSERT_EQ(api.Edits(Body("mysql-up"))->status, 200);

  ASSERT_TRUE(own->db->Stop().ok());
  auto down = api.Edits(Body("mysql-down"));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->status, 503) << down->http.body;
  EXPECT_TRUE(down->http.Header("Retry-After").has_value());
  EXPECT_TRUE(WaitReadyz(*stack, 503));
}

// A read-only MySQL (a replica, a failover under way) is unavailable, not an
// internal error: 503 with Retry-After, and not ready (it answered 500 and
// stayed ready). A MySQL that hangs turns the stack not ready within a few
// seconds (the ping waited for the pool's 10 s read timeout first).
TEST(OutageTest, ReadOnlyOrHungMysqlAnswers503AndReadyzFails) {
  absl::StatusOr<OwnStack> own = StartOwnStack("readonly");
  ASSERT_TRUE(own.ok()) << own.status();
  Stack* stack = own->stack.get();
  const MysqlTestConfig& config = own->db->config();
  const Api api(stack->gateway_url(), kToken);
  ASSERT_EQ(api.Edits(Body("ro-up"))->status, 200);
  auto root = MysqlSession::ConnectAdmin(config, config.database);
  ASSERT_TRUE(root.ok()) << root.status();

  ASSERT_TRUE((*root)->Execute("SET GLOBAL read_only = ON").ok());
  auto off = absl::MakeCleanup(
      [&] { (void)(*root)->Execute("SET GLOBAL read_only = OFF"); });
  auto refused =
      api.Edits(EditsBody("users", {{"ro-new",
                                     "20000000-0000-4000-8000-0000000000f9",
                                     Rfc3339(1764082869000000),
                                     false,
                                     {{"name", "read-only"}}}}));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->status, 503) << refused->http.body;
  EXPECT_TRUE(refused->http.Header("Retry-After").has_value());
  auto feed =
      api.Get("/v1/changes?table=users");  // assigns feed positions: a write
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->status, 503) << feed->http.body;
  EXPECT_TRUE(WaitReadyz(*stack, 503));
  std::move(off).Invoke();
  EXPECT_TRUE(WaitReadyz(*stack, 200));

  // Hung: stopped, not gone.
  std::ifstream pid_file(own->db->dir() + "/mariadb/mysqld.pid");
  pid_t pid = 0;
  ASSERT_TRUE(pid_file >> pid) << own->db->dir();
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  auto resume = absl::MakeCleanup([pid] { kill(pid, SIGCONT); });
  EXPECT_TRUE(WaitReadyz(*stack, 503));  // within 10 s: ~3 s
  std::move(resume).Invoke();
  EXPECT_TRUE(WaitReadyz(*stack, 200));
}

TEST(OutageTest, SigtermWithIngestHungEndsAfterTheDrainNotTheCallsDeadline) {
  // An edit waits on an ingest that never answers (stopped). SIGTERM: the
  // gateway drains for --drain_timeout, then cancels the call instead of
  // waiting out --ingest_timeout for its callback, and exits cleanly.
  StackOptions options;
  options.token = kToken;
  options.gateway_flags = {"--drain_timeout=1s", "--ingest_timeout=120s"};
  absl::StatusOr<std::unique_ptr<ScratchStack>> scratch = StartScratchStack("hung", options);
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  Stack& stack = *(*scratch)->stack;
  const Api api(stack.gateway_url(), kToken);

  StackProcess& ingest = stack.process(Tier::kIngest, 0);
  ASSERT_TRUE(ingest.child.Kill(SIGSTOP).ok());
  absl::Cleanup resume = [&] { ingest.child.Kill(SIGCONT).IgnoreError(); };
  absl::StatusOr<ApiResponse> hung;
  std::thread edit([&] { hung = api.Edits(Body("outage-hung")); });
  absl::Cleanup join = [&] { edit.join(); };
  absl::SleepFor(absl::Milliseconds(500));  // the edit is at the gateway now

  StackProcess& gateway = stack.process(Tier::kGateway, 0);
  ASSERT_TRUE(gateway.child.Kill(SIGTERM).ok());
  // Drain (1 s) and exit; without the cancel it took ~30 s (the channel's
  // keepalive gave up on the stopped ingest before the call's deadline).
  absl::StatusOr<ExitStatus> exit = gateway.child.Wait(absl::Seconds(15));
  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << stack.LogTail(stack.index(Tier::kGateway));
  EXPECT_TRUE(exit->Exited() && exit->ExitCode() == 0) << exit->ToString();
  // The edit was answered, not cut off: its client knows to retry.
  std::move(join).Invoke();
  ASSERT_TRUE(hung.ok()) << hung.status();
  EXPECT_EQ(hung->status, 503) << hung->http.body;
  EXPECT_EQ(Str(hung->json, {"error", "code"}), "shutting_down");
  EXPECT_TRUE(hung->http.Header("Retry-After").has_value());
}

TEST(OutageTest, ASchemaLoadWaitingOnAHungWriterHoldsUpNoOtherCall) {
  // Ingest serves every call on one thread. A request for a table it has no
  // schema of waits for the writer's DescribeTable, here stopped until the
  // load's 5 s deadline; meanwhile a request it can answer alone (every
  // change rejected) is answered first.
  StackOptions options;
  options.token = kToken;
  absl::StatusOr<std::unique_ptr<ScratchStack>> scratch = StartScratchStack("schema", options);
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  Stack& stack = *(*scratch)->stack;
  const Api api(stack.gateway_url(), kToken);
  ASSERT_EQ(api.Edits(Body("schema-cached"))->status, 200);  // ingest has users' schema

  StackProcess& writer = stack.process(Tier::kWriter, 0);
  ASSERT_TRUE(writer.child.Kill(SIGSTOP).ok());
  absl::Cleanup resume = [&] { writer.child.Kill(SIGCONT).IgnoreError(); };
  absl::Mutex mu;
  std::vector<std::string> answered;
  std::thread unknown_table([&] {
    api.Edits(EditsBody("never_described", {{"schema-load", kRow, Rfc3339(1764082869000000),
                                              false, {{"name", "x"}}}}))
        .IgnoreError();
    absl::MutexLock lock(&mu);
    answered.push_back("never_described");
  });
  absl::Cleanup join = [&] { unknown_table.join(); };
  absl::SleepFor(absl::Milliseconds(500));  // its schema load is waiting now

  auto rejected = api.Edits(EditsBody(
      "users", {{"schema-bad-row", "not-a-uuid", Rfc3339(1764082869000000), false,
                 {{"name", "x"}}}}));
  {
    absl::MutexLock lock(&mu);
    answered.push_back("users");
  }
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->status, 422) << rejected->http.body;  // every change rejected
  EXPECT_EQ(Str(rejected->result(0), {"code"}), "invalid_row_id");
  std::move(join).Invoke();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(answered, (std::vector<std::string>{"users", "never_described"}));
}

// While no resolver merges captured MySQL edits, the writer's
// sheetsync_capture_oldest_pending_seconds shows how long the oldest has
// waited (the capture lag histogram, observed only when a merge succeeds,
// shows nothing then); once merged it is 0 again.
TEST(OutageTest, AStalledCaptureShowsInTheOldestPendingAge) {
  absl::StatusOr<std::unique_ptr<ScratchStack>> scratch =
      StartScratchStack("capturestall");
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  Stack& stack = *(*scratch)->stack;
  const std::vector<std::string> writer = {
      stack.process(Tier::kWriter).metrics_url};
  auto age = [&] {
    return MetricSum(writer, "sheetsync_capture_oldest_pending_seconds",
                     {{"table", "users"}})
        .value_or(-1);
  };
  auto wait_for = [&](auto done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!done(age()) && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(100));
    return done(age());
  };
  ASSERT_TRUE(wait_for([](double v) { return v == 0; })) << age();

  StackProcess& resolver = stack.process(Tier::kResolver);
  ASSERT_TRUE(resolver.child.Kill(SIGSTOP).ok());
  absl::Cleanup resume = [&] { (void)resolver.child.Kill(SIGCONT); };
  auto session =
      MysqlSession::Connect((*scratch)->config, (*scratch)->db->name());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE(
      (*session)
          ->Execute("INSERT INTO users (uuid, name) VALUES "
                    "('0ca7c4e0-0000-4000-8000-000000000001', 'waiting')")
          .ok());
  EXPECT_TRUE(wait_for([](double v) { return v >= 3; })) << age();

  ASSERT_TRUE(resolver.child.Kill(SIGCONT).ok());
  EXPECT_TRUE(wait_for([](double v) { return v == 0; })) << age();
}

TEST(OutageTest, TokenOverItsRateLimitGets429WithRetryAfter) {
  absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<ScratchDatabase> db = ScratchDatabase::Create(*config, "ratelimit");
  ASSERT_TRUE(db.ok()) << db.status();
  StackOptions options;
  options.mysql = *config;
  options.database = db->name();
  options.token = kToken;
  options.gateway_flags = {"--rate_limit=0.2", "--rate_burst=3",
                           "--admin_token=admin-token"};
  absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const Api api((*stack)->gateway_url(), kToken);
  int limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = api.Get("/v1/changes?table=users");
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->status == 429) {
      ++limited;
      EXPECT_EQ(Str(r->json, {"error", "code"}), "rate_limited");
      EXPECT_EQ(r->http.Header("Retry-After").value_or(""), "5");
    } else {
      EXPECT_EQ(r->status, 200) << r->http.body;
    }
  }
  EXPECT_EQ(limited, 3);  // a burst of 3, then one request every 5 s
  // The admin token has a limit of its own (it had none).
  const Api admin((*stack)->gateway_url(), "admin-token");
  limited = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = admin.Get("/v1/admin/tables");
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->status == 429) ++limited;
  }
  EXPECT_EQ(limited, 3);
  // Health and metrics carry no token and are never limited.
  EXPECT_EQ(HttpRequest((*stack)->gateway_url() + "/healthz", "GET")->status, 200);
  EXPECT_EQ(HttpRequest((*stack)->gateway_url() + "/favicon.ico", "GET")->status, 404);
}

// The writer's MySQL user holds only what scripts/lib.sh grants on its own
// database: it cannot read the server's accounts, reach another database,
// create users or change global settings.
TEST(OutageTest, TheWritersMysqlUserHasOnlyItsGrants) {
  absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  auto session = MysqlSession::Connect(*config, config->database);
  ASSERT_TRUE(session.ok()) << session.status();
  for (const char* forbidden :
       {"SELECT user FROM mysql.user", "CREATE DATABASE sheetsync_forbidden",
        "CREATE USER 'intruder'@'%' IDENTIFIED BY 'x'",
        "SET GLOBAL max_connections = 10", "SHUTDOWN"}) {
    absl::Status status = (*session)->Execute(forbidden);
    EXPECT_FALSE(status.ok()) << forbidden << " was allowed";
    const int code = MysqlErrorCode(status);
    // 1044/1045 access denied, 1142 command denied, 1227 needs a privilege.
    EXPECT_TRUE(code == 1044 || code == 1142 || code == 1227 || code == 1045)
        << forbidden << ": " << status;
  }
  // What the writer needs works.
  EXPECT_TRUE((*session)->Execute("CREATE TABLE grants_probe (id INT PRIMARY KEY)").ok());
  EXPECT_TRUE((*session)->Execute("DROP TABLE grants_probe").ok());
}

}  // namespace
}  // namespace sheetsync::test
