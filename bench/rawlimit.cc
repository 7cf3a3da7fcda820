// The raw limit: the fastest a plain client applies the same changes with
// the same per-cell version bookkeeping, batched, straight to MySQL — one
// transaction per batch of conditional upserts (event ids, per-cell versions
// kept only when newer, the user table) and no services in between. Prints
// one JSON line like bench/loadgen. With --pace, each thread starts a batch
// no sooner than that after its last one started: the same commits at the
// rate the stack sends them (bench/run.sh), not back to back.
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/stats.h"
#include "cppconn/exception.h"
#include "cppconn/statement.h"
#include "mysql_connection.h"
#include "mysql_driver.h"

ABSL_FLAG(std::string, mysql_host, "127.0.0.1", "MySQL host");
ABSL_FLAG(int, mysql_port, 3306, "MySQL port");
ABSL_FLAG(std::string, mysql_user, "sheetsync", "user");
ABSL_FLAG(std::string, mysql_password, "", "password");
ABSL_FLAG(std::string, mysql_database, "sheetsync", "database (migrated by the writer)");
ABSL_FLAG(int, concurrency, 1, "client threads, one connection each");
ABSL_FLAG(int, batch, 50, "changes per transaction");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to write");
ABSL_FLAG(std::string, run_id, "raw", "prefix making ids unique per run");
ABSL_FLAG(int64_t, total, 0, "stop after this many changes in all (0: --duration)");
ABSL_FLAG(
    absl::Duration, pace, absl::ZeroDuration(),
    "start each thread's batches at least this far apart (0: back to back)");

namespace sheetsync::bench {
namespace {

std::unique_ptr<sql::Connection> Connect() {
  sql::ConnectOptionsMap options;
  options["hostName"] = absl::GetFlag(FLAGS_mysql_host);
  options["port"] = absl::GetFlag(FLAGS_mysql_port);
  options["userName"] = absl::GetFlag(FLAGS_mysql_user);
  options["password"] = absl::GetFlag(FLAGS_mysql_password);
  options["schema"] = absl::GetFlag(FLAGS_mysql_database);
  options["OPT_CHARSET_NAME"] = std::string("utf8mb4");
  std::unique_ptr<sql::Connection> conn(
      sql::mysql::get_mysql_driver_instance()->connect(options));
  std::unique_ptr<sql::Statement> stmt(conn->createStatement());
  stmt->execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  stmt->execute("SET @sheetsync_writer = 1");  // like the engine: no capture
  return conn;
}

void ApplyBatch(sql::Statement& stmt, const std::string& run_id, int thread,
                int64_t first, int batch, int64_t now_us) {
  std::vector<std::string> events, cells, rows;
  for (int i = 0; i < batch; ++i) {
    const int64_t n = first + i;
    const std::string row = absl::StrFormat("'%08x-%04x-4000-8000-%012d'",
                                            std::hash<std::string>()(run_id) & 0x7fffffff,
                                            thread, n);
    const std::string name = absl::StrCat(run_id, "-", thread, "-", n);
    const std::string eid = absl::StrCat("'", name, "'");
    events.push_back(absl::StrCat("('users',", eid, ",", now_us, ")"));
    for (const auto& [col, val] :
         std::vector<std::pair<std::string, std::string>>{
             {"name", name}, {"email", name + "@bench.example"}, {"score", absl::StrCat(n % 1000)}}) {
      cells.push_back(absl::StrCat("('users',", row, ",'", col, "','", val, "',", now_us, ",",
                                   eid, ",1,'bench')"));
    }
    rows.push_back(absl::StrCat("(", row, ",'", name, "','", name, "@bench.example',", n % 1000,
                                ")"));
  }
  stmt.execute(absl::StrCat(
      "INSERT INTO `_sheetsync_events` (tbl, event_id, stored_at_us) VALUES ",
      absl::StrJoin(events, ",")));
  // Keep a cell's version only when the incoming one is newer.
  stmt.execute(absl::StrCat(
      "INSERT INTO `_sheetsync_cells` (tbl, row_id, col, val, ts_us, event_id, "
      "source, origin) "
      "VALUES ",
      absl::StrJoin(cells, ","),
      " ON DUPLICATE KEY UPDATE val = IF(VALUES(ts_us) > ts_us, VALUES(val), "
      "val), "
      "event_id = IF(VALUES(ts_us) > ts_us, VALUES(event_id), event_id), "
      "ts_us = GREATEST(ts_us, VALUES(ts_us))"));
  stmt.execute(absl::StrCat("INSERT INTO users (uuid, name, email, score) VALUES ",
                            absl::StrJoin(rows, ","),
                            " ON DUPLICATE KEY UPDATE name = VALUES(name), "
                            "email = VALUES(email), score = VALUES(score)"));
}

int Main() {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int batch = absl::GetFlag(FLAGS_batch);
  const std::string run_id = absl::GetFlag(FLAGS_run_id);
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  sql::mysql::get_mysql_driver_instance();
  std::vector<Stats> stats(concurrency);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      sql::mysql::get_mysql_driver_instance()->threadInit();
      try {
        std::unique_ptr<sql::Connection> conn = Connect();
        std::unique_ptr<sql::Statement> stmt(conn->createStatement());
        conn->setAutoCommit(false);  // each batch is a transaction
        const int64_t total = absl::GetFlag(FLAGS_total);
        const int64_t mine = total > 0 ? (total + concurrency - 1) / concurrency : 0;
        const auto pace = absl::ToChronoNanoseconds(absl::GetFlag(FLAGS_pace));
        auto next = std::chrono::steady_clock::now();
        for (int64_t n = 0; total > 0 ? n < mine : absl::Now() < end; n += batch) {
          std::this_thread::sleep_until(next);
          const auto t0 = std::chrono::steady_clock::now();
          next = t0 + pace;
          ApplyBatch(*stmt, run_id, t, n, batch, absl::ToUnixMicros(absl::Now()));
          stmt->execute("COMMIT");  // as the writer commits (sql_text.h)
          stats[t].latencies_ms.push_back(std::chrono::duration<double, std::milli>(
                                              std::chrono::steady_clock::now() - t0).count());
          stats[t].changes += batch;
        }
      } catch (const sql::SQLException& e) {
        std::cerr << "rawlimit: " << e.what() << "\n";
        ++stats[t].errors;
      }
      sql::mysql::get_mysql_driver_instance()->threadEnd();
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t errors = 0;
  std::cout << Report(concurrency, batch, seconds, stats, &errors);
  return errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace sheetsync::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return sheetsync::bench::Main();
}
