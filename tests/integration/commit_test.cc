// A COMMIT the writer's MySQL layer reports as done is durable, also when
// MariaDB shuts down around it.
//
// Four threads commit small transactions through the writer's pool and
// Commit() (the way MysqlVersionStore::Apply does: one multi-statement
// round trip, then COMMIT) while the test restarts its own MariaDB over and
// over; afterwards every commit that returned must be stored. Connector/C++'s
// Connection::commit() failed this about once per restart: it returned for
// a COMMIT the server never ran, and faults_test then found acknowledged
// edits missing.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cppconn/exception.h"
#include "gtest/gtest.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/sql_text.h"
#include "tests/support/mysql_test_env.h"

namespace sheetsync::test {
namespace {

TEST(CommitTest, CommitsThatReturnSurviveMariadbRestarts) {
  absl::StatusOr<std::unique_ptr<OwnMariadb>> db = OwnMariadb::Start("commit");
  ASSERT_TRUE(db.ok()) << db.status();
  const MysqlTestConfig* config = &(*db)->config();
  {
    auto session = MysqlSession::Connect(*config, config->database);
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)->Execute("CREATE TABLE commit_probe (id BIGINT PRIMARY KEY, "
                                    "v VARCHAR(16)) ENGINE=InnoDB").ok());
  }

  MysqlConfig pool_config;
  pool_config.port = config->port;
  pool_config.user = config->user;
  pool_config.password = config->password;
  pool_config.database = config->database;
  pool_config.pool_size = 4;
  MysqlPool pool(pool_config);
  absl::Mutex mu;
  std::set<int64_t> committed;  // guarded by mu
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      EnsureMysqlThreadInit();
      for (int64_t id = t * 1000000000LL; !done; ++id) {
        absl::StatusOr<PooledConnection> conn = pool.Acquire(absl::Seconds(1));
        if (!conn.ok()) {
          absl::SleepFor(absl::Milliseconds(20));
          continue;
        }
        try {
          SqlBatch batch;
          batch.Add("START TRANSACTION");
          batch.Add(absl::StrCat("INSERT INTO commit_probe VALUES (", id, ", 'x')"));
          batch.AddQuery(absl::StrCat("SELECT * FROM commit_probe WHERE id = ", id),
                         [](sql::ResultSet&) {});
          batch.Run(*conn);
          Commit(*conn);
          absl::MutexLock lock(&mu);
          committed.insert(id);
        } catch (const sql::SQLException&) {
          ++failures;
          conn->Discard();
          absl::SleepFor(absl::Milliseconds(20));
        }
      }
    });
  }
  absl::Cleanup join = [&] {  // also when an assertion below returns early
    done = true;
    for (std::thread& t : threads) t.join();
  };
  for (int restart = 0; restart < 6; ++restart) {
    absl::SleepFor(absl::Milliseconds(1500));
    ASSERT_TRUE((*db)->Restart().ok());
  }
  absl::SleepFor(absl::Milliseconds(500));
  std::move(join).Invoke();

  auto session = MysqlSession::Connect(*config, config->database);
  ASSERT_TRUE(session.ok()) << session.status();
  auto rows = (*session)->Query("SELECT id FROM commit_probe");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::set<int64_t> stored;
  for (const SqlRow& row : *rows) stored.insert(std::stoll(*row[0]));
  absl::MutexLock lock(&mu);
  int missing = 0;
  for (int64_t id : committed) {
    if (stored.count(id) == 0) {
      ++missing;
      ADD_FAILURE() << "commit of " << id << " returned but the row is not stored";
    }
  }
  std::cerr << "commits returned " << committed.size() << ", failed " << failures
            << ", missing " << missing << "\n";
  EXPECT_GT(failures.load(), 0) << "no commit met a restart: the test proved nothing";
}

}  // namespace
}  // namespace sheetsync::test
