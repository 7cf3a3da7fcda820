// The writer's optimistic commit, called over its gRPC API against a real
// MariaDB: a plan applies only when every row still has the rev it was made
// against and none of its events is known; otherwise nothing of it is written
// and the answer carries the fresh state to plan again.
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/clock.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/writer_metrics.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/registry_samples.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr int64_t kT0 = 1764082869123000;

class WriterApplyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<ScratchStack>> scratch = StartScratchStack("writerapply");
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    scratch_ = scratch->release();
    config_ = &scratch_->config;
    db_ = scratch_->db.get();
    writer_ = v1::Writer::NewStub(
                  grpc::CreateChannel(scratch_->stack->grpc_addrs(Tier::kWriter).at(0),
                                      grpc::InsecureChannelCredentials()))
                  .release();
  }

  static void TearDownTestSuite() {
    delete writer_;
    delete scratch_;
  }

  static std::string NewRowId() {
    static int n = 0;
    return absl::StrCat("00000000-0000-4000-8000-", absl::StrFormat("%012d", ++n));
  }

  // A plan writing `name` into one row, made against `expected_rev`.
  static v1::RowWrite NameWrite(const std::string& row_id, int64_t expected_rev,
                                const std::string& name, const std::string& event_id,
                                int64_t at_us) {
    v1::RowWrite row;
    row.set_row_id(row_id);
    row.set_expected_rev(expected_rev);
    v1::CellVersion& cell = (*row.mutable_cell_upserts())["name"];
    cell.mutable_value()->set_text(name);
    cell.set_updated_at_us(at_us);
    cell.set_event_id(event_id);
    cell.set_source(v1::SHEET);
    cell.set_origin("sheet-1");
    (*row.mutable_table_values())["name"].set_text(name);
    row.set_log_change(true);
    return row;
  }

  static v1::ApplyRequest Plan(std::vector<v1::RowWrite> rows,
                               std::vector<std::string> event_ids) {
    v1::ApplyRequest request;
    request.set_table("users");
    request.set_source(v1::SHEET);
    request.set_origin("sheet-1");
    for (v1::RowWrite& row : rows) *request.add_rows() = std::move(row);
    for (std::string& id : event_ids) request.add_new_event_ids(std::move(id));
    return request;
  }

  static absl::StatusOr<v1::ApplyResponse> Apply(const v1::ApplyRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::ApplyResponse response;
    grpc::Status status = writer_->Apply(&context, request, &response);
    if (!status.ok()) return absl::InternalError(status.error_message());
    return response;
  }

  // The stored name of each row (nullopt: no user-table row) and its rev
  // in the metadata (0: none).
  static std::vector<SqlRow> Stored(const std::string& row_id) {
    auto session = MysqlSession::Connect(*config_, db_->name());
    EXPECT_TRUE(session.ok()) << session.status();
    auto rows = (*session)->Query(absl::StrCat(
        "SELECT (SELECT name FROM users WHERE uuid = ", SqlQuote(row_id), "), ",
        "(SELECT COALESCE(MAX(rev), 0) FROM _sheetsync_rows WHERE tbl = 'users' AND row_id = ",
        SqlQuote(row_id), "), ",
        "(SELECT COUNT(*) FROM _sheetsync_changelog WHERE tbl = 'users' AND row_id = ",
        SqlQuote(row_id), ")"));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<SqlRow>{};
  }

  // The writer's MySQL settings for the test database, with a pool of one,
  // for tests of its store and pool themselves.
  static MysqlConfig OneConnection() {
    MysqlConfig mysql;
    mysql.host = config_->host;
    mysql.port = config_->port;
    mysql.user = config_->user;
    mysql.password = config_->password;
    mysql.database = db_->name();
    mysql.pool_size = 1;
    return mysql;
  }

  // The writer's store on a pool of one, counting into a registry of its own.
  struct CountedStore {
    CountedStore() { store.set_metrics(&metrics); }
    MysqlPool pool{OneConnection()};
    RealClock clock;
    MysqlVersionStore store{pool, clock, {TableRegistration{"users"}}};
    prometheus::Registry registry;
    WriterMetrics metrics{registry};
  };

  static ScratchStack* scratch_;
  static const MysqlTestConfig* config_;
  static ScratchDatabase* db_;
  static v1::Writer::Stub* writer_;
};

ScratchStack* WriterApplyTest::scratch_ = nullptr;
const MysqlTestConfig* WriterApplyTest::config_ = nullptr;
ScratchDatabase* WriterApplyTest::db_ = nullptr;
v1::Writer::Stub* WriterApplyTest::writer_ = nullptr;

TEST_F(WriterApplyTest, PlanAgainstCurrentRevsApplies) {
  const std::string row = NewRowId();
  auto first = Apply(Plan({NameWrite(row, 0, "Ada", "e-1a", kT0)}, {"e-1a"}));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->conflict());
  auto second = Apply(Plan({NameWrite(row, 1, "Grace", "e-1b", kT0 + 1)}, {"e-1b"}));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Grace", "2", "2")));
}

TEST_F(WriterApplyTest, StaleRevWritesNothingAndAnswersFreshState) {
  const std::string row = NewRowId();
  ASSERT_TRUE(Apply(Plan({NameWrite(row, 0, "Ada", "e-2a", kT0)}, {"e-2a"})).ok());
  // Made against "absent" while the row is at rev 1.
  auto stale = Apply(Plan({NameWrite(row, 0, "Mallory", "e-2b", kT0 + 5)}, {"e-2b"}));
  ASSERT_TRUE(stale.ok()) << stale.status();
  ASSERT_TRUE(stale->conflict());
  ASSERT_EQ(stale->fresh().rows_size(), 1);
  EXPECT_EQ(stale->fresh().rows(0).rev(), 1);
  EXPECT_EQ(stale->fresh().rows(0).cells().at("name").value().text(), "Ada");
  EXPECT_THAT(stale->fresh().known_event_ids(), IsEmpty());  // e-2b rolled back
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));
}

TEST_F(WriterApplyTest, RevFromTheFutureWritesNothing) {
  // A plan against rev 3 of a row that has no metadata (e.g. pruned since).
  const std::string row = NewRowId();
  auto stale = Apply(Plan({NameWrite(row, 3, "Ghost", "e-3a", kT0)}, {"e-3a"}));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre(std::nullopt, "0", "0")));
}

TEST_F(WriterApplyTest, OneStaleRowKeepsTheWholeBatchOut) {
  const std::string fresh = NewRowId();
  const std::string moved = NewRowId();
  ASSERT_TRUE(Apply(Plan({NameWrite(moved, 0, "Ada", "e-4a", kT0)}, {"e-4a"})).ok());
  auto stale = Apply(Plan({NameWrite(fresh, 0, "New", "e-4b", kT0 + 1),
                           NameWrite(moved, 0, "Old view", "e-4c", kT0 + 1)},
                          {"e-4b", "e-4c"}));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->conflict());
  EXPECT_THAT(Stored(fresh), ElementsAre(ElementsAre(std::nullopt, "0", "0")));
  EXPECT_THAT(Stored(moved), ElementsAre(ElementsAre("Ada", "1", "1")));
}

TEST_F(WriterApplyTest, KnownEventWritesNothingAndIsReported) {
  const std::string row = NewRowId();
  ASSERT_TRUE(Apply(Plan({NameWrite(row, 0, "Ada", "e-5a", kT0)}, {"e-5a"})).ok());
  // The revs match, but the event was committed by a concurrent batch.
  auto replay = Apply(Plan({NameWrite(row, 1, "Ada again", "e-5a", kT0)}, {"e-5a"}));
  ASSERT_TRUE(replay.ok()) << replay.status();
  ASSERT_TRUE(replay->conflict());
  EXPECT_THAT(replay->fresh().known_event_ids(), ElementsAre("e-5a"));
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));
}

TEST_F(WriterApplyTest, AStatementFailingAfterTheEventsCommitsNothing) {
  // COMMIT rides in the batch; MySQL must stop at the failing user-table
  // write (too long for VARCHAR(255)) and the writer roll back: neither the
  // row nor the event is kept, so the corrected plan then applies. The
  // answer names the row MySQL refused, also among others (each on its own
  // statement then).
  const std::string row = NewRowId();
  const std::string other = NewRowId();
  auto failed =
      Apply(Plan({NameWrite(other, 0, "fine", "e-9o", kT0),
                  NameWrite(row, 0, std::string(300, 'x'), "e-9a", kT0)},
                 {"e-9o", "e-9a"}));
  ASSERT_TRUE(failed.ok()) << failed.status();
  EXPECT_FALSE(failed->conflict());
  EXPECT_EQ(failed->refused().row_id(), row);
  EXPECT_EQ(failed->refused().code(), "value_too_long");
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre(std::nullopt, "0", "0")));
  EXPECT_THAT(Stored(other), ElementsAre(ElementsAre(std::nullopt, "0", "0")));
  auto fixed = Apply(Plan({NameWrite(row, 0, "Ada", "e-9a", kT0)}, {"e-9a"}));
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  EXPECT_FALSE(fixed->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));
}

TEST_F(WriterApplyTest, RowsWithoutNewEventsAreCheckedToo) {
  // The merge only touches rows for new events, but the writer takes any
  // plan: without an event to carry the check, it is read back before COMMIT.
  const std::string row = NewRowId();
  auto applied = Apply(Plan({NameWrite(row, 0, "Ada", "e-10a", kT0)}, {}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->conflict());
  auto stale = Apply(Plan({NameWrite(row, 0, "Mallory", "e-10b", kT0 + 1)}, {}));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));
}

TEST_F(WriterApplyTest, ValuesThatLookLikeStatementsAreStoredVerbatim) {
  // The writer's connections allow multi-statements: only escaping keeps a
  // value from ending its statement and starting another.
  const std::string row = NewRowId();
  const std::string evil = "Robert'); DROP TABLE users; -- \\' \"; SELECT 1; #";
  auto applied = Apply(Plan({NameWrite(row, 0, evil, "e-7a", kT0)}, {"e-7a"}));
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre(evil, "1", "1")));
}

TEST_F(WriterApplyTest, CurrentRowsAreReadInsideTheCommit) {
  const std::string row = NewRowId();
  v1::ApplyRequest request = Plan({NameWrite(row, 0, "Ada", "e-6a", kT0)}, {"e-6a"});
  request.add_current_row_ids(row);
  request.add_current_row_ids(NewRowId());  // absent
  auto applied = Apply(request);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_FALSE(applied->conflict());
  ASSERT_EQ(applied->current_rows_size(), 2);
  EXPECT_TRUE(applied->current_rows(0).exists());
  EXPECT_EQ(applied->current_rows(0).values().at("name").text(), "Ada");
  EXPECT_TRUE(applied->current_rows(0).values().at("score").is_null());
  EXPECT_FALSE(applied->current_rows(1).exists());
}

// The rows read back inside the commit are read by the columns the table
// has: a column dropped since the writer cached the schema must not fail the
// answer of a batch that has committed.
TEST_F(WriterApplyTest, CurrentRowsAreReadByTheColumnsTheTableHasNow) {
  auto root = MysqlSession::ConnectAdmin(*config_, db_->name());
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(
      (*root)->Execute("ALTER TABLE users ADD COLUMN extra INT NULL").ok());
  const std::string row = NewRowId();
  v1::ApplyRequest cached =
      Plan({NameWrite(row, 0, "Ada", "e-11a", kT0)}, {"e-11a"});
  (*cached.mutable_rows(0)->mutable_table_values())["extra"].set_text("1");
  auto applied = Apply(cached);  // a new column: the writer re-reads the schema
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_FALSE(applied->conflict());
  ASSERT_TRUE((*root)->Execute("ALTER TABLE users DROP COLUMN extra").ok());

  v1::ApplyRequest request =
      Plan({NameWrite(row, 1, "Grace", "e-11b", kT0 + 1)}, {"e-11b"});
  request.add_current_row_ids(row);
  applied = Apply(request);
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_FALSE(applied->conflict());
  ASSERT_EQ(applied->current_rows_size(), 1);
  EXPECT_EQ(applied->current_rows(0).values().at("name").text(), "Grace");
  EXPECT_FALSE(applied->current_rows(0).values().contains("extra"));
}

TEST_F(WriterApplyTest, HorizonRaisedSinceThePlanWritesNothing) {
  // The plan brings back a row with nothing stored, by a change at kT0 + 50;
  // meanwhile a prune raised the horizon to that time: a late replay that
  // must not resurrect the row. A horizon still older lets it commit.
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  auto set_horizon = [&](int64_t us) {
    ASSERT_TRUE((*session)
                    ->Execute(absl::StrCat("UPDATE _sheetsync_tables SET pruned_horizon_us = ",
                                           us, " WHERE tbl = 'users'"))
                    .ok());
  };
  const std::string row = NewRowId();
  v1::ApplyRequest request = Plan({NameWrite(row, 0, "Ghost", "e-8a", kT0 + 50)}, {"e-8a"});
  request.set_absent_rows_min_us(kT0 + 50);
  set_horizon(kT0 + 50);
  auto stale = Apply(request);
  set_horizon(kT0 + 49);
  auto applied = Apply(request);
  set_horizon(0);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(stale->conflict());
  EXPECT_EQ(stale->fresh().pruned_horizon_us(), kT0 + 50);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_FALSE(applied->conflict());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ghost", "1", "1")));
}

// The count of sheetsync_writer_txn_retries_total{reason} in `registry`.
double TxnRetries(prometheus::Registry& registry, const std::string& reason) {
  return Samples(registry,
                 "sheetsync_writer_txn_retries_total")["reason=" + reason];
}

// Group commit first tries its callers' plans combined, and after a
// conflict applies each alone. The combined attempt's conflict answers at
// once (no fresh state read) and is not counted as a retry: only the plan
// that meets it alone counts (it counted twice).
TEST_F(WriterApplyTest, ACombinedPlansConflictIsCountedOnceByThePlanAlone) {
  const std::string row = NewRowId();
  ASSERT_TRUE(
      Apply(Plan({NameWrite(row, 0, "Ada", "e-20a", kT0)}, {"e-20a"})).ok());
  const v1::ApplyRequest stale =
      Plan({NameWrite(row, 0, "Bob", "e-20b", kT0 + 1)},
           {"e-20b"});  // made against rev 0

  CountedStore counted;
  MysqlVersionStore& store = counted.store;
  prometheus::Registry& registry = counted.registry;

  VersionStore::ApplyOptions combined;
  combined.combined = true;
  absl::StatusOr<v1::ApplyResponse> answer = store.Apply(stale, combined);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->conflict());
  EXPECT_FALSE(answer->has_fresh());
  EXPECT_EQ(TxnRetries(registry, "rev_conflict"), 0);

  answer = store.Apply(stale, {});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->conflict());
  ASSERT_EQ(answer->fresh().rows_size(), 1);
  EXPECT_EQ(answer->fresh().rows(0).rev(), 1);
  EXPECT_EQ(TxnRetries(registry, "rev_conflict"), 1);
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));
}

// A wait for a connection that times out (the pool exhausted) is observed
// too: those are the waits the pool's histogram is there to show.
TEST_F(WriterApplyTest, PoolWaitsThatTimeOutAreObserved) {
  MysqlPool pool(OneConnection());
  prometheus::Registry registry;
  WriterMetrics metrics(registry);
  pool.set_metrics(&metrics);
  absl::StatusOr<PooledConnection> held = pool.Acquire(absl::Seconds(5));
  ASSERT_TRUE(held.ok()) << held.status();
  absl::StatusOr<PooledConnection> none = pool.Acquire(absl::Milliseconds(50));
  EXPECT_TRUE(absl::IsUnavailable(none.status())) << none.status();
  EXPECT_THAT(Samples(registry, "sheetsync_mysql_pool_wait_seconds"),
              ElementsAre(Pair("", 2)));
  EXPECT_GE(HistogramSums(registry, "sheetsync_mysql_pool_wait_seconds")[""],
            0.05);
}

// A table another session holds a metadata lock on (LOCK TABLES, or a DDL
// copying the table) makes the writer wait like a locked row: a lock wait
// error after its lock wait timeout, which is retried, not a wait until
// the connection's 10 s read timeout drops it.
TEST_F(WriterApplyTest, ATableLockedByAnotherSessionIsALockWait) {
  auto session = MysqlSession::ConnectAdmin(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->Execute("LOCK TABLES users WRITE").ok());
  MysqlPool pool(OneConnection());
  RealClock clock;
  MysqlVersionStore store(pool, clock, {TableRegistration{"users"}});
  ASSERT_TRUE(store.DescribeTable("users")
                  .ok());  // schema read before the lock matters
  VersionStore::ApplyOptions once;
  once.retry_until = absl::Now();
  const std::string row = NewRowId();
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ApplyResponse> answer = store.Apply(
      Plan({NameWrite(row, 0, "Ada", "e-30a", kT0)}, {"e-30a"}), once);
  const absl::Duration waited = absl::Now() - start;
  ASSERT_TRUE((*session)->Execute("UNLOCK TABLES").ok());
  EXPECT_TRUE(absl::IsAborted(answer.status())) << answer.status();
  EXPECT_LT(waited, absl::Seconds(8));
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre(std::nullopt, "0", "0")));
}

// How many triggers `users` has.
std::string UsersTriggers(MysqlSession& session) {
  return session
      .QueryValue(
          "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
          "TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'users'")
      ->value_or("");
}

// Takes the named lock under which writers change the triggers of `users`
// (MysqlVersionStore::CaptureLockName), for the session's life or until
// RELEASE_ALL_LOCKS().
void HoldCaptureLock(MysqlSession& session) {
  ASSERT_EQ(session
                .QueryValue("SELECT GET_LOCK(CONCAT('sheetsync.', SHA1(CONCAT("
                            "DATABASE(), '.capture.users'))), 10)")
                ->value_or(""),
            "1");
}

// Drops them all, as a table swap or a restore without triggers leaves it.
void DropUsersTriggers(MysqlSession& session) {
  auto names = session.Query(
      "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "
      "TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'users'");
  ASSERT_TRUE(names.ok()) << names.status();
  for (const SqlRow& name : *names) {
    ASSERT_TRUE(
        session.Execute(absl::StrCat("DROP TRIGGER `", *name[0], "`")).ok());
  }
}

// Logs an SQL UPDATE of `row` setting `column` to `value` (the row's other
// values: name "Ada", no e-mail, score 7), as the capture trigger does at
// kT0 + 10; leased for an hour, so that the stack's own poller leaves it.
absl::Status PlantUpdateCapture(MysqlSession& session, const std::string& row,
                                const std::string& column,
                                const std::string& value) {
  std::map<std::string, std::string> values = {
      {"name", "\"Ada\""}, {"email", "null"}, {"score", "\"7\""}};
  values[column] = absl::StrCat("\"", value, "\"");
  return session.Execute(absl::StrCat(
      "INSERT INTO _sheetsync_capture (tbl, op, row_id, captured_at_us, cols, "
      "vals, lease_until_us) VALUES ('users', 'U', ",
      SqlQuote(row), ", ", kT0 + 10, ", '[\"", column,
      "\"]', '{\"name\": ", values["name"], ", \"email\": ", values["email"],
      ", \"score\": ", values["score"], "}', ",
      absl::ToUnixMicros(absl::Now() + absl::Hours(1)), ")"));
}

// A plan that would write over a direct SQL edit of its row, captured but
// not merged yet, is sent back with that edit, counted apart from rev
// conflicts; planned again with the edit consumed, it commits and the
// captured row goes with the same transaction.
TEST_F(WriterApplyTest, APendingSqlEditSendsThePlanBackWithIt) {
  const std::string row = NewRowId();
  ASSERT_TRUE(
      Apply(Plan({NameWrite(row, 0, "Ada", "e-30a", kT0)}, {"e-30a"})).ok());
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE(PlantUpdateCapture(**session, row, "name", "sql").ok());
  auto capture_ids = [&] {
    auto rows = (*session)->Query(absl::StrCat(
        "SELECT id FROM _sheetsync_capture WHERE row_id = ", SqlQuote(row)));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<SqlRow>{};
  };
  ASSERT_EQ(capture_ids().size(), 1u);
  const int64_t id = std::stoll(*capture_ids()[0][0]);

  CountedStore counted;
  MysqlVersionStore& store = counted.store;
  prometheus::Registry& registry = counted.registry;
  v1::ApplyRequest plan =
      Plan({NameWrite(row, 1, "Bob", "e-30b", kT0 + 5)}, {"e-30b"});
  absl::StatusOr<v1::ApplyResponse> answer = store.Apply(plan, {});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->conflict());
  ASSERT_EQ(answer->pending_captures_size(), 1);
  const v1::CapturedChange& pending = answer->pending_captures(0);
  EXPECT_EQ(pending.capture_id(), id);
  EXPECT_EQ(pending.change().row_id(), row);
  EXPECT_EQ(pending.change().source(), v1::MYSQL);
  EXPECT_EQ(pending.change().cells().at("name").text(), "sql");
  EXPECT_EQ(TxnRetries(registry, "pending_capture"), 1);
  EXPECT_EQ(TxnRetries(registry, "rev_conflict"), 0);
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("Ada", "1", "1")));

  // The resolver's next plan merges the edit (here the sheet's value loses
  // to it and only the SQL one is written) and consumes it.
  v1::ApplyRequest merged =
      Plan({NameWrite(row, 1, "sql", pending.change().event_id(), kT0 + 10)},
           {"e-30b"});
  merged.add_consumed_capture_ids(id);
  answer = store.Apply(merged, {});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_FALSE(answer->conflict());
  EXPECT_THAT(capture_ids(), IsEmpty());
  EXPECT_THAT(Stored(row), ElementsAre(ElementsAre("sql", "2", "2")));
}

// A plan sent back for a moved rev counts as a rev conflict even when SQL
// edits of its row wait to be merged, as long as none sets a column it
// writes (the writer answers with them all the same).
TEST_F(WriterApplyTest, APendingEditOfAnotherColumnLeavesARevConflictOne) {
  const std::string row = NewRowId();
  ASSERT_TRUE(
      Apply(Plan({NameWrite(row, 0, "Ada", "e-31a", kT0)}, {"e-31a"})).ok());
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE(PlantUpdateCapture(**session, row, "score", "7").ok());
  CountedStore counted;
  // Made against rev 0: the row is at rev 1.
  absl::StatusOr<v1::ApplyResponse> answer = counted.store.Apply(
      Plan({NameWrite(row, 0, "Bob", "e-31b", kT0 + 5)}, {"e-31b"}), {});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_TRUE(answer->conflict());
  EXPECT_EQ(answer->pending_captures_size(), 1);
  EXPECT_EQ(TxnRetries(counted.registry, "rev_conflict"), 1);
  EXPECT_EQ(TxnRetries(counted.registry, "pending_capture"), 0);
  ASSERT_TRUE(
      (*session)
          ->Execute(absl::StrCat(
              "DELETE FROM _sheetsync_capture WHERE row_id = ", SqlQuote(row)))
          .ok());
}

// Replicas change a table's capture triggers one at a time, under a named
// lock: two installing different signatures at once would each drop the
// other's. A replica that finds the lock held leaves the work to the holder
// and still answers the schema.
TEST_F(WriterApplyTest, TriggersChangeOnlyUnderTheCaptureLock) {
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  CountedStore first;
  ASSERT_TRUE(first.store.DescribeTable("users").ok());
  ASSERT_EQ(UsersTriggers(**session), "3");
  HoldCaptureLock(**session);
  DropUsersTriggers(**session);
  CountedStore second;
  absl::StatusOr<v1::TableSchema> locked = second.store.DescribeTable("users");
  EXPECT_TRUE(locked.ok()) << locked.status();
  EXPECT_EQ(UsersTriggers(**session), "0");
  ASSERT_TRUE((*session)->Execute("DO RELEASE_ALL_LOCKS()").ok());
  EXPECT_TRUE(second.store.DescribeTable("users").ok());
  EXPECT_EQ(UsersTriggers(**session), "3");
}

// A trigger's CREATE or DROP waits for the table's metadata lock while a
// transaction is open on the table, and every later statement on the table
// waits behind it. So a replica tries without waiting first, answers the
// schema anyway, and tries again later.
TEST_F(WriterApplyTest, TriggersWaitForNoTransactionOpenOnTheTable) {
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  // (The capture lock keeps the stack's writer out meanwhile.)
  HoldCaptureLock(**session);
  DropUsersTriggers(**session);
  auto open = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_TRUE((*open)->Execute("START TRANSACTION").ok());
  ASSERT_TRUE((*open)->Query("SELECT COUNT(*) FROM users").ok());
  ASSERT_TRUE((*session)->Execute("DO RELEASE_ALL_LOCKS()").ok());
  CountedStore store;
  absl::StatusOr<v1::TableSchema> schema = store.store.DescribeTable("users");
  EXPECT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(UsersTriggers(**session), "0");
  // Nothing waits for the table's metadata lock.
  EXPECT_EQ(
      (*session)
          ->QueryValue("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                       "WHERE STATE LIKE '%metadata lock%'")
          ->value_or(""),
      "0");
  ASSERT_TRUE((*open)->Execute("COMMIT").ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (UsersTriggers(**session) != "3" && absl::Now() < deadline) {
    ASSERT_TRUE(store.store.DescribeTable("users").ok());
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_EQ(UsersTriggers(**session), "3");
}

// Last: it restarts the writer. An index earlier versions created on the
// change log (`unsequenced`, the same as by_seq) is dropped when the writer
// migrates at start; by_seq stays. The capture's by_row and
// _sheetsync_tables.capture_sig_at_us, which earlier versions lacked, are
// added.
TEST_F(WriterApplyTest, StartMigratesTheIndexesOfEarlierVersions) {
  auto session = MysqlSession::Connect(*config_, db_->name());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)
                  ->Execute("ALTER TABLE _sheetsync_changelog "
                            "ADD KEY unsequenced (tbl, seq, id)")
                  .ok());
  ASSERT_TRUE((*session)
                  ->Execute("ALTER TABLE _sheetsync_capture DROP KEY by_row")
                  .ok());
  ASSERT_TRUE((*session)
                  ->Execute("ALTER TABLE _sheetsync_tables DROP COLUMN "
                            "capture_sig_at_us")
                  .ok());
  auto indexes = [&](const std::string& table) {
    auto rows = (*session)->Query(absl::StrCat(
        "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '",
        table, "' ORDER BY INDEX_NAME"));
    EXPECT_TRUE(rows.ok()) << rows.status();
    return rows.ok() ? *rows : std::vector<SqlRow>{};
  };
  ASSERT_THAT(indexes("_sheetsync_changelog"),
              ElementsAre(ElementsAre("by_age"), ElementsAre("by_seq"),
                          ElementsAre("PRIMARY"), ElementsAre("unsequenced")));
  ASSERT_THAT(indexes("_sheetsync_capture"),
              ElementsAre(ElementsAre("by_table"), ElementsAre("PRIMARY")));
  Stack& stack = *scratch_->stack;
  ASSERT_TRUE(stack.Restart(stack.index(Tier::kWriter)).ok());
  EXPECT_THAT(indexes("_sheetsync_changelog"),
              ElementsAre(ElementsAre("by_age"), ElementsAre("by_seq"),
                          ElementsAre("PRIMARY")));
  EXPECT_THAT(indexes("_sheetsync_capture"),
              ElementsAre(ElementsAre("by_row"), ElementsAre("by_table"),
                          ElementsAre("PRIMARY")));
  auto column = (*session)->Query(
      "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE "
      "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sheetsync_tables' AND "
      "COLUMN_NAME = 'capture_sig_at_us'");
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_THAT(*column, ElementsAre(ElementsAre("0")));
}

}  // namespace
}  // namespace sheetsync::test
