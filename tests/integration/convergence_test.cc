// The merge rule's property through the whole system: 4 concurrent HTTP
// clients send random multisets of changes (colliding timestamps, deletes,
// replays) in random orders and batches to 2 replicas each of ingest,
// resolver and writer; MySQL must end equal to the oracle.
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/integration/oracle.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

constexpr char kToken[] = "convergence-token";
constexpr int kClients = 4;
const std::vector<std::string> kColumns = {"name", "email", "score"};

std::vector<OracleChange> RandomChanges(std::mt19937& rng, int round, int count) {
  std::uniform_int_distribution<int> row(0, 5), tick(0, 7), kind(0, 9), coin(0, 1);
  std::vector<OracleChange> changes;
  for (int i = 0; i < count; ++i) {
    OracleChange change;
    change.event_id = absl::StrCat("conv-", round, "-", i);
    change.row_id = absl::StrFormat("10000000-0000-4000-8000-%06d%06d", round, row(rng));
    change.ts_us = 1764082869000000 + tick(rng) * 1000;
    if (kind(rng) < 2) {
      change.deleted = true;
    } else {
      for (const std::string& column : kColumns) {
        if (coin(rng) == 0 && !(column == "score" && change.cells.empty())) continue;
        if (column == "score") {
          change.cells[column] = kind(rng) == 0 ? std::nullopt
                                                : std::optional<std::string>(
                                                      std::to_string(i));
        } else {
          change.cells[column] = absl::StrCat(column, "-", i);
        }
      }
    }
    changes.push_back(change);
    if (kind(rng) == 0) changes.push_back(change);  // an exact replay
  }
  return changes;
}

EditChange ToEdit(const OracleChange& change) {
  EditChange edit;
  edit.event_id = change.event_id;
  edit.row_id = change.row_id;
  edit.updated_at = Rfc3339(change.ts_us);
  edit.deleted = change.deleted;
  edit.cells = change.cells;
  return edit;
}

// Sends `changes` in random batches, retrying each batch on 503 (as the
// Apps Script client does). Returns false on any other failure.
bool SendAll(const Api& api, std::vector<OracleChange> changes, unsigned seed,
             std::string* error) {
  std::mt19937 rng(seed);
  std::shuffle(changes.begin(), changes.end(), rng);
  std::uniform_int_distribution<size_t> batch(1, 12);
  for (size_t start = 0; start < changes.size();) {
    const size_t end = std::min(changes.size(), start + batch(rng));
    std::vector<EditChange> edits;
    for (size_t i = start; i < end; ++i) edits.push_back(ToEdit(changes[i]));
    const std::string body = EditsBody("users", edits);
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<ApiResponse> r = api.Edits(body);
      if (r.ok() && r->status == 200) break;
      if (attempt > 50 || (r.ok() && r->status != 503)) {
        *error = r.ok() ? r->http.body : r.status().ToString();
        return false;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    start = end;
  }
  return true;
}

TEST(ConvergenceTest, ConcurrentClientsAndReplicasReachTheOracle) {
  absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
  ASSERT_TRUE(config.ok()) << config.status();
  absl::StatusOr<ScratchDatabase> db = ScratchDatabase::Create(*config, "converge");
  ASSERT_TRUE(db.ok()) << db.status();
  StackOptions options;
  options.mysql = *config;
  options.database = db->name();
  options.token = kToken;
  options.replicas = 2;
  absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
  ASSERT_TRUE(stack.ok()) << stack.status();
  const Api api((*stack)->gateway_url(), kToken);

  std::mt19937 rng(20261125);
  std::vector<OracleChange> all;
  for (int round = 0; round < 3; ++round) {
    const std::vector<OracleChange> changes = RandomChanges(rng, round, 120);
    all.insert(all.end(), changes.begin(), changes.end());
    // Every client sends a random share; some changes go to several clients
    // (replays across clients), every change to at least one.
    std::vector<std::vector<OracleChange>> shares(kClients);
    std::uniform_int_distribution<int> client(0, kClients - 1), extra(0, 4);
    for (const OracleChange& change : changes) {
      shares[client(rng)].push_back(change);
      if (extra(rng) == 0) shares[client(rng)].push_back(change);
    }
    std::vector<std::thread> threads;
    std::vector<std::string> errors(kClients);
    std::vector<char> ok(kClients, 0);
    for (int c = 0; c < kClients; ++c) {
      // Drawn here: the clients run at once, and the run must replay from the seed.
      const unsigned seed = rng() + c;
      threads.emplace_back([&, c, seed] { ok[c] = SendAll(api, shares[c], seed, &errors[c]); });
    }
    for (std::thread& t : threads) t.join();
    for (int c = 0; c < kClients; ++c) ASSERT_TRUE(ok[c]) << errors[c];
  }

  auto session = MysqlSession::Connect(*config, db->name());
  ASSERT_TRUE(session.ok()) << session.status();
  auto rows = (*session)->Query("SELECT uuid, name, email, score FROM users");
  ASSERT_TRUE(rows.ok()) << rows.status();
  OracleTable actual;
  for (const SqlRow& row : *rows) {
    actual[*row[0]] = {{"name", row[1]}, {"email", row[2]}, {"score", row[3]}};
  }
  EXPECT_EQ(actual, Oracle(all, kColumns));
}

}  // namespace
}  // namespace sheetsync::test
