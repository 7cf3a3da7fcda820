// Nothing acknowledged is ever lost: while 4 clients send edits (retrying
// on 503, timeouts and refused connections, as the Apps Script client does),
// every process is killed with SIGKILL and restarted, MariaDB itself is
// restarted, the writer is paused past the deadlines, and every process is
// stopped with SIGTERM under load (graceful drain: exit 0, clients see only
// retryable errors). Afterwards MySQL must equal the oracle of every change.
// Each test prints its counts (requests sent, acknowledged, retried, faults
// injected). One round of faults by default; SHEETSYNC_SOAK_ROUNDS=N repeats
// them N times under the same load (scripts/soak.sh).
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/integration/oracle.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

constexpr char kToken[] = "faults-token";
constexpr int kClients = 4;
const std::vector<std::string> kColumns = {"name", "email", "score"};

// What the clients did, for the report and the oracle.
struct Load {
  absl::Mutex mu;
  std::vector<OracleChange> acknowledged ABSL_GUARDED_BY(mu);
  // event id -> the status the acknowledging answer gave it (diagnostics).
  std::map<std::string, std::string> statuses ABSL_GUARDED_BY(mu);
  std::atomic<int> sent{0}, acked{0}, retried{0}, non_retryable{0};
  // 200 answers whose results do not belong to the request's changes (an
  // answer meant for another request would acknowledge what was not written).
  std::atomic<int> misanswered{0};
  // Valid changes answered `rejected` (never right here: each is valid).
  std::atomic<int> rejected{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> abandon{false};  // the test failed: stop retrying too
};

// Returns $SHEETSYNC_SOAK_ROUNDS (at least 1; 1 when unset).
int SoakRounds() {
  const char* env = std::getenv("SHEETSYNC_SOAK_ROUNDS");
  return env == nullptr ? 1 : std::max(1, std::atoi(env));
}

// Prints what the clients did and the faults injected.
void Report(const char* test, const Load& load, int faults, int rounds) {
  std::cerr << "faults report (" << test << ", " << rounds << " round"
            << (rounds == 1 ? "" : "s") << "): requests sent " << load.sent
            << ", acknowledged " << load.acked << ", retried " << load.retried
            << ", faults injected " << faults << "\n";
}

// One client: batches of 1-5 changes over 20 rows with colliding times,
// each retried until acknowledged (200) — also across restarts.
void Client(const Api& api, int id, Load& load) {
  std::mt19937 rng(id);
  for (int n = 0; !load.stop; ++n) {
    std::vector<OracleChange> batch;
    std::vector<EditChange> edits;
    const int size = 1 + rng() % 5;
    for (int i = 0; i < size; ++i) {
      OracleChange change;
      change.event_id = absl::StrCat("fault-", id, "-", n, "-", i);
      change.row_id =
          absl::StrFormat("60000000-0000-4000-8000-%012d", rng() % 20);
      change.ts_us = 1764082869000000 + (rng() % 50) * 1000;
      change.deleted = rng() % 8 == 0;
      if (!change.deleted) {
        change.cells["name"] = absl::StrCat("c", id, "-", n, "-", i);
        if (rng() % 2) change.cells["score"] = std::to_string(rng() % 1000);
      }
      edits.push_back({change.event_id, change.row_id, Rfc3339(change.ts_us),
                       change.deleted, change.cells});
      batch.push_back(std::move(change));
    }
    const std::string body = EditsBody("users", edits);
    ++load.sent;
    absl::StatusOr<ApiResponse> r;
    for (int attempt = 0;; ++attempt) {
      r = api.Edits(body);
      if (r.ok() && r->status == 200) break;
      if (r.ok() && r->status != 503)
        ++load.non_retryable;  // a 4xx/5xx other than 503
      ++load.retried;
      absl::SleepFor(absl::Milliseconds(std::min(500, 20 * (attempt + 1))));
      if (attempt > 600 || load.abandon) return;  // give up (the test then fails)
    }
    ++load.acked;
    absl::MutexLock lock(&load.mu);
    const auto* results = &r->json.struct_value().fields();
    const int answered = results->count("results") == 0
                             ? 0
                             : results->at("results").list_value().values_size();
    if (answered != static_cast<int>(batch.size())) ++load.misanswered;
    for (int i = 0; i < static_cast<int>(batch.size()); ++i) {
      // The status each change was acknowledged with, and the clients'
      // retry count then (a rough clock), for Explain().
      const std::string retries = absl::StrCat(" after-retries-", load.retried.load());
      if (i >= answered) {
        load.statuses[batch[i].event_id] = "(no result)" + retries;
        continue;
      }
      const google::protobuf::Value& result = r->result(i);
      const std::string status = Str(result, {"status"});
      if (Str(result, {"event_id"}) != batch[i].event_id) {
        ++load.misanswered;
        std::cerr << "answer for " << batch[i].event_id << " carries event "
                  << Str(result, {"event_id"}) << "\n";
      }
      if (status == "rejected") {
        ++load.rejected;
        std::cerr << batch[i].event_id << " was rejected: " << Str(result, {"code"}) << " "
                  << Str(result, {"error"}) << "\n";
      }
      load.statuses[batch[i].event_id] = status + retries;
    }
    load.acknowledged.insert(load.acknowledged.end(), batch.begin(),
                             batch.end());
  }
}

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A MariaDB of this test's own: it gets restarted. Diagnostics may ask
    // for server options (see TearDown).
    const char* server_args = std::getenv("SHEETSYNC_MARIADB_ARGS");
    absl::StatusOr<std::unique_ptr<OwnMariadb>> db =
        OwnMariadb::Start("faults", server_args == nullptr ? "" : server_args);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    config_ = db_->config();
    StackOptions options;
    options.mysql = config_;
    options.database = config_.database;
    options.token = kToken;
    options.resolver_flags = {
        "--writer_timeout=1s"};  // a paused writer hits deadlines
    options.ingest_flags = {"--resolver_timeout=3s"};
    options.gateway_flags = {"--ingest_timeout=5s"};
    absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  void TearDown() override {
    stack_.reset();
    // Diagnostics: with SHEETSYNC_MARIADB_ARGS="--general-log
    // --general-log-file=general.log", keep every statement MariaDB ran.
    const char* keep = std::getenv("SHEETSYNC_FAULTS_KEEP_DB_LOG");
    if (keep != nullptr && HasFailure() && db_ != nullptr) {
      const int copied = std::system(absl::StrCat("cp ", db_->dir(), "/mariadb/data/general.log ",
                                                  keep, "/general-", getpid(), ".log")
                                         .c_str());
      (void)copied;  // best effort
    }
    db_.reset();
  }

  void RestartMariadb() { ASSERT_TRUE(db_->Restart().ok()); }

  void ExpectOracle(Load& load) {
    auto session = MysqlSession::Connect(config_, config_.database);
    ASSERT_TRUE(session.ok()) << session.status();
    auto rows = (*session)->Query("SELECT uuid, name, email, score FROM users");
    ASSERT_TRUE(rows.ok()) << rows.status();
    OracleTable actual;
    for (const SqlRow& row : *rows) {
      actual[*row[0]] = {
          {"name", row[1]}, {"email", row[2]}, {"score", row[3]}};
    }
    absl::MutexLock lock(&load.mu);
    const OracleTable expected = Oracle(load.acknowledged, kColumns);
    EXPECT_EQ(actual, expected);
    if (actual != expected) {
      Explain(**session, actual, expected, load.acknowledged, load.statuses);
    }
  }

  // Prints, for each row that differs, what the clients had acknowledged for
  // it and what the sync metadata holds, so that a divergence can be traced.
  static void Explain(MysqlSession& session, const OracleTable& actual,
                      const OracleTable& expected,
                      const std::vector<OracleChange>& acknowledged,
                      const std::map<std::string, std::string>& statuses) {
    std::set<std::string> rows;
    for (const auto& [row, cells] : actual) {
      auto it = expected.find(row);
      if (it == expected.end() || it->second != cells) rows.insert(row);
    }
    for (const auto& [row, cells] : expected) {
      if (actual.count(row) == 0) rows.insert(row);
    }
    // No one edits MySQL directly here: a captured edit would be an echo of
    // the writer's own writes, and (stamped now) would beat every sheet edit.
    auto captured = session.QueryValue(
        "SELECT COUNT(*) FROM _sheetsync_events WHERE event_id LIKE 'mysql-%'");
    std::cerr << "captured MySQL edits merged: "
              << (captured.ok() ? captured->value_or("NULL") : captured.status().ToString())
              << "\n";
    for (const std::string& row : rows) {
      std::cerr << "== row " << row << " differs; acknowledged changes (event ts deleted cells):\n";
      for (const OracleChange& change : acknowledged) {
        if (change.row_id != row) continue;
        std::string cells = change.cells.empty() ? "-" : "";
        for (const auto& [column, value] : change.cells) {
          absl::StrAppend(&cells, cells.empty() ? "" : ",", column, "=", value.value_or("NULL"));
        }
        std::cerr << "  " << change.event_id << " " << change.ts_us << " " << change.deleted
                  << " " << cells
                  << " " << (statuses.count(change.event_id) ? statuses.at(change.event_id) : "?")
                  << "\n";
      }
      for (const std::string& sql :
           {absl::StrCat("SELECT rev, tomb_us, tomb_event, updated_us FROM _sheetsync_rows "
                         "WHERE row_id = ", SqlQuote(row)),
            absl::StrCat("SELECT col, val, ts_us, event_id, source, origin FROM _sheetsync_cells WHERE row_id = ",
                         SqlQuote(row)),
            absl::StrCat("SELECT seq, logged_at_us FROM _sheetsync_changelog WHERE row_id = ",
                         SqlQuote(row))}) {
        auto result = session.Query(sql);
        std::cerr << "  " << sql << ":\n";
        if (!result.ok()) continue;
        for (const SqlRow& r : *result) {
          std::cerr << "   ";
          for (const auto& v : r) std::cerr << " " << v.value_or("NULL");
          std::cerr << "\n";
        }
      }
    }
  }

  std::unique_ptr<OwnMariadb> db_;
  MysqlTestConfig config_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(FaultsTest, KillRestartPauseAndDatabaseRestartLoseNothing) {
  const Api api(stack_->gateway_url(), kToken);
  Load load;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { Client(api, c, load); });
  }
  absl::Cleanup join = [&] {  // also when an assertion below returns early
    load.abandon = HasFatalFailure();
    load.stop = true;
    for (std::thread& t : clients) t.join();
  };
  int faults = 0;
  const int rounds = SoakRounds();
  for (int round = 0; round < rounds; ++round) {
    for (Tier tier :
         {Tier::kGateway, Tier::kIngest, Tier::kResolver, Tier::kWriter}) {
      absl::SleepFor(absl::Milliseconds(700));
      const size_t i = stack_->index(tier, 0);
      ASSERT_TRUE(stack_->process(i).child.Kill(SIGKILL).ok());
      const absl::Status restarted = stack_->Restart(i);
      ASSERT_TRUE(restarted.ok()) << TierName(tier) << ": " << restarted;
      ++faults;
    }
    absl::SleepFor(absl::Milliseconds(700));
    RestartMariadb();
    ++faults;
    absl::SleepFor(absl::Milliseconds(700));
    StackProcess& writer = stack_->process(Tier::kWriter, 0);
    ASSERT_TRUE(writer.child.Kill(SIGSTOP).ok());
    absl::SleepFor(
        absl::Seconds(2));  // past the resolver's 1 s writer deadline
    ASSERT_TRUE(writer.child.Kill(SIGCONT).ok());
    ++faults;
    absl::SleepFor(absl::Seconds(1));
  }
  std::move(join).Invoke();
  Report("kill, restart, pause", load, faults, rounds);
  // Every client retries each request until it is acknowledged, or gives up
  // after 600 tries: a run that acknowledged nothing proves nothing.
  EXPECT_GT(load.acked.load(), 0);
  EXPECT_EQ(load.acked.load(), load.sent.load()) << "requests were given up";
  EXPECT_EQ(load.non_retryable, 0);
  EXPECT_EQ(load.misanswered, 0);
  EXPECT_EQ(load.rejected, 0);
  ExpectOracle(load);
}

TEST_F(FaultsTest, SigtermUnderLoadDrainsAndLosesNothing) {
  const Api api(stack_->gateway_url(), kToken);
  Load load;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] { Client(api, c, load); });
  }
  absl::Cleanup join = [&] {  // also when an assertion below returns early
    load.abandon = HasFatalFailure();
    load.stop = true;
    for (std::thread& t : clients) t.join();
  };
  int faults = 0;
  const int rounds = SoakRounds();
  for (int round = 0; round < rounds; ++round) {
    for (Tier tier :
         {Tier::kWriter, Tier::kResolver, Tier::kIngest, Tier::kGateway}) {
      absl::SleepFor(absl::Milliseconds(700));
      const size_t i = stack_->index(tier, 0);
      ASSERT_TRUE(stack_->process(i).child.Kill(SIGTERM).ok());
      absl::StatusOr<ExitStatus> exit =
          stack_->process(i).child.Wait(absl::Seconds(20));
      ASSERT_TRUE(exit.ok()) << TierName(tier) << ": " << exit.status();
      EXPECT_TRUE(exit->Exited() && exit->ExitCode() == 0)
          << TierName(tier) << " did not drain cleanly: " << exit->ToString();
      const absl::Status restarted = stack_->Restart(i);
      ASSERT_TRUE(restarted.ok()) << TierName(tier) << ": " << restarted;
      ++faults;
    }
  }
  absl::SleepFor(absl::Milliseconds(700));
  std::move(join).Invoke();
  Report("SIGTERM drain", load, faults, rounds);
  // Every client retries each request until it is acknowledged, or gives up
  // after 600 tries: a run that acknowledged nothing proves nothing.
  EXPECT_GT(load.acked.load(), 0);
  EXPECT_EQ(load.acked.load(), load.sent.load()) << "requests were given up";
  EXPECT_EQ(load.non_retryable, 0);
  EXPECT_EQ(load.misanswered, 0);
  EXPECT_EQ(load.rejected, 0);
  ExpectOracle(load);
}

}  // namespace
}  // namespace sheetsync::test
