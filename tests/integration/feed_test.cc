// MySQL -> Sheet: direct SQL edits are captured and merged, the change feed
// pages without skipping, sheet edits never echo as MYSQL, exclude_origin,
// pruning with 410 and the snapshot resync.
#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

constexpr char kToken[] = "feed-token";
using Copy = std::map<std::string, std::map<std::string, std::string>>;

std::string Text(const google::protobuf::Value& value) {
  if (value.has_string_value()) return value.string_value();
  if (value.has_number_value()) return absl::StrCat(static_cast<int64_t>(value.number_value()));
  return "NULL";
}

// A sheet's copy of the table, kept by applying feed pages.
struct Reader {
  std::string cursor;
  Copy copy;

  // Reads pages until has_more is false; returns the entries read.
  std::vector<google::protobuf::Value> Pull(const Api& api, int limit = 7,
                                            const std::string& extra = "") {
    std::vector<google::protobuf::Value> entries;
    for (;;) {
      auto page = api.Get(absl::StrCat("/v1/changes?table=users&limit=", limit,
                                       "&since=", cursor, extra));
      EXPECT_TRUE(page.ok() && page->status == 200)
          << (page.ok() ? page->http.body : page.status().ToString());
      if (!page.ok() || page->status != 200) return entries;
      const auto& fields = page->json.struct_value().fields();
      for (const auto& entry : fields.at("changes").list_value().values()) {
        entries.push_back(entry);
        const std::string row = Str(entry, {"row_id"});
        if (entry.struct_value().fields().at("deleted").bool_value()) {
          copy.erase(row);
          continue;
        }
        for (const auto& [column, value] :
             entry.struct_value().fields().at("cells").struct_value().fields()) {
          copy[row][column] = Text(value);
        }
      }
      cursor = fields.at("next_cursor").string_value();
      if (!fields.at("has_more").bool_value()) return entries;
    }
  }
};

class FeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    absl::StatusOr<ScratchDatabase> db = ScratchDatabase::Create(config_, "feed");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::make_unique<ScratchDatabase>(*std::move(db));
    sql_ = *MysqlSession::Connect(config_, db_->name());
  }

  void StartStack(std::vector<std::string> writer_flags = {},
                  std::vector<std::string> resolver_flags = {}) {
    StackOptions options;
    options.mysql = config_;
    options.database = db_->name();
    options.token = kToken;
    options.writer_flags = std::move(writer_flags);
    options.resolver_flags = std::move(resolver_flags);
    absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    api_ = std::make_unique<Api>(stack_->gateway_url(), kToken);
  }

  void Sql(const std::string& statement) {
    absl::Status status = sql_->Execute(statement);
    ASSERT_TRUE(status.ok()) << status << " in " << statement;
  }

  Copy TableCopy() {
    Copy copy;
    absl::StatusOr<std::vector<SqlRow>> rows =
        sql_->Query("SELECT uuid, name, email, score FROM users");
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return copy;
    for (const SqlRow& row : *rows) {
      copy[*row[0]] = {{"name", row[1].value_or("NULL")},
                       {"email", row[2].value_or("NULL")},
                       {"score", row[3].value_or("NULL")}};
    }
    return copy;
  }

  // Waits up to `timeout` until `done` holds.
  template <typename F>
  bool Within(absl::Duration timeout, F done) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return done();
  }

  // Waits up to 2 s (the contract's capture bound) until `done` holds.
  template <typename F>
  bool Within2s(F done) {
    return Within(absl::Seconds(2), done);
  }

  MysqlTestConfig config_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<MysqlSession> sql_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Api> api_;
};

constexpr char kA[] = "30000000-0000-4000-8000-00000000000a";
constexpr char kB[] = "30000000-0000-4000-8000-00000000000b";

TEST_F(FeedTest, ExistingRowsAndSqlEditsAppearAsMysqlWithin2s) {
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'before', 'b@x', 1)"));
  StartStack();
  Reader reader;
  ASSERT_TRUE(Within2s([&] { reader.Pull(*api_); return reader.copy.count(kA) > 0; }));
  EXPECT_EQ(reader.copy[kA]["name"], "before");

  Sql(absl::StrCat("INSERT INTO users VALUES ('", kB, "', 'ins', NULL, 2)"));
  std::vector<google::protobuf::Value> seen;
  ASSERT_TRUE(Within2s([&] {
    for (auto& e : reader.Pull(*api_)) seen.push_back(e);
    return reader.copy.count(kB) > 0;
  }));
  EXPECT_EQ(Str(seen.back(), {"source"}), "MYSQL");
  EXPECT_EQ(Str(seen.back(), {"origin"}), "");

  Sql(absl::StrCat("UPDATE users SET email = 'upd@x' WHERE uuid = '", kB, "'"));
  ASSERT_TRUE(Within2s([&] { reader.Pull(*api_); return reader.copy[kB]["email"] == "upd@x"; }));
  Sql(absl::StrCat("DELETE FROM users WHERE uuid = '", kA, "'"));
  ASSERT_TRUE(Within2s([&] { reader.Pull(*api_); return reader.copy.count(kA) == 0; }));
  // Changing the key is a delete of the old row and an insert of the new.
  const std::string moved = "30000000-0000-4000-8000-0000000000cc";
  Sql(absl::StrCat("UPDATE users SET uuid = '", moved, "' WHERE uuid = '", kB, "'"));
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kB) == 0 && reader.copy.count(moved) == 1;
  }));
  EXPECT_EQ(reader.copy, TableCopy());
  // A cursor past every position handed out (forged, or kept across a
  // restore from a backup) would skip changes: 410, resync.
  auto ahead = api_->Get("/v1/changes?table=users&since=c1.OTk5OTk5");
  ASSERT_TRUE(ahead.ok()) << ahead.status();
  EXPECT_EQ(ahead->status, 410) << ahead->http.body;
  EXPECT_EQ(Str(ahead->json, {"error", "code"}), "cursor_expired");
}

// A table swapped for a copy (RENAME TABLE, as online schema change tools
// do; or dropped and created again) leaves its triggers behind, while
// _sheetsync_tables still names them as installed: the writer sees that they
// are gone and puts them back. The old copy, kept (as gh-ost keeps it), took
// them along, and they logged its edits as the synced table's; they go.
TEST_F(FeedTest, TriggersLostWithTheTableComeBack) {
  StartStack();
  Reader reader;
  reader.Pull(*api_);  // the table is loaded and its triggers installed
  auto triggers = [&](const std::string& table) {
    return sql_
        ->QueryValue(absl::StrCat(
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
            "TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = '",
            table, "'"))
        ->value_or("");
  };
  ASSERT_EQ(triggers("users"), "3");
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kB, "', 'b', NULL, 2)"));
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kB) > 0;
  }));
  Sql("CREATE TABLE users_copy LIKE users");
  Sql("INSERT INTO users_copy SELECT * FROM users");
  Sql("RENAME TABLE users TO users_old, users_copy TO users");
  ASSERT_EQ(triggers("users"), "0");
  ASSERT_EQ(triggers("users_old"), "3");
  // The writer checks them on every maintenance pass (every 2 s).
  Within(absl::Seconds(10), [&] { return triggers("users") == "3"; });
  ASSERT_EQ(triggers("users"), "3");
  EXPECT_EQ(triggers("users_old"), "0");
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA,
                   "', 'swapped', NULL, 3)"));
  Sql(absl::StrCat("UPDATE users_old SET name = 'old copy' WHERE uuid = '", kB,
                   "'"));
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kA) > 0;
  }));
  absl::SleepFor(absl::Milliseconds(500));
  reader.Pull(*api_);
  EXPECT_EQ(reader.copy, TableCopy());
  EXPECT_EQ(reader.copy[kB]["name"], "b");
  Sql("DROP TABLE users_old");
}

// A delete no trigger sees still reaches the sheet: MySQL fires no trigger
// for a foreign key's ON DELETE CASCADE, nor for TRUNCATE. The writer compares
// the table with its sync state on its maintenance passes and logs such
// deletes.
TEST_F(FeedTest, DeletesNoTriggerSawReachTheSheet) {
  Sql("CREATE TABLE parent (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB");
  Sql("INSERT INTO parent VALUES (1), (2)");
  Sql("ALTER TABLE users ADD COLUMN pid INT NULL, ADD FOREIGN KEY (pid) "
      "REFERENCES parent (id) ON DELETE CASCADE");
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'a', NULL, 1, 1), ('",
                   kB, "', 'b', NULL, 2, 2)"));
  StartStack();
  Reader reader;
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kA) > 0 && reader.copy.count(kB) > 0;
  }));
  Sql("DELETE FROM parent WHERE id = 1");  // and, by the cascade, row kA
  ASSERT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "0");
  EXPECT_TRUE(Within(absl::Seconds(10), [&] {
    reader.Pull(*api_);
    return reader.copy.count(kA) == 0;
  })) << "the cascaded delete never came";
  // Rows the table holds, rows deleted by the sheet and deletes a trigger
  // saw are left alone, pass after pass.
  const std::string kC = "30000000-0000-4000-8000-00000000000c";
  EditChange created{"s-c", kC, Rfc3339(absl::ToUnixMicros(absl::Now()))};
  created.cells = {{"name", "c"}};
  EditChange deleted{"s-c-del", kC,
                     Rfc3339(absl::ToUnixMicros(absl::Now()) + 1000), true};
  for (const EditChange& change : {created, deleted}) {
    auto r = api_->Edits(EditsBody("users", {change}));
    ASSERT_TRUE(r.ok() && r->status == 200)
        << (r.ok() ? r->http.body : r.status().ToString());
  }
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'a2', NULL, 1, 2)"));
  Sql(absl::StrCat("DELETE FROM users WHERE uuid = '", kA, "'"));
  absl::SleepFor(absl::Seconds(5));
  reader.Pull(*api_);
  EXPECT_EQ(
      MetricSum(stack_->metrics_urls(),
                "sheetsync_capture_missed_deletes_total", {{"table", "users"}})
          .value_or(-1),
      1);
  EXPECT_EQ(reader.copy.count(kB), 1u);
  EXPECT_EQ(reader.copy[kB]["name"], "b");
  EXPECT_EQ(*sql_->QueryValue(absl::StrCat(
                "SELECT COUNT(*) FROM users WHERE uuid = '", kB, "'")),
            "1");
  // TRUNCATE fires no trigger either.
  Sql("TRUNCATE TABLE users");
  EXPECT_TRUE(Within(absl::Seconds(10), [&] {
    reader.Pull(*api_);
    return reader.copy.empty();
  })) << "the truncated rows never went";
  EXPECT_EQ(
      MetricSum(stack_->metrics_urls(),
                "sheetsync_capture_missed_deletes_total", {{"table", "users"}})
          .value_or(-1),
      2);
  Sql("ALTER TABLE users DROP FOREIGN KEY users_ibfk_1");
  Sql("DROP TABLE parent");
}

// What MySQL holds is what the sheet gets: edits that change only case,
// accents or trailing spaces (equal under the table's _ci collation) are
// captured, and REPLACE, which runs as a delete and an insert of the same key
// at one time, leaves the row in place instead of deleting it.
TEST_F(FeedTest, CaseOnlyEditsAndReplaceReachTheSheetAsMysqlHoldsThem) {
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'ada', 'a@x', 1), ('",
                   kB, "', 'bob', 'b@x', 2)"));
  StartStack();
  Reader reader;
  for (const char* name : {"ada", "Ada", "Ada ", "Adá "}) {
    Sql(absl::StrCat("UPDATE users SET name = '", name, "' WHERE uuid = '", kA,
                     "'"));
    ASSERT_TRUE(Within2s([&] {
      reader.Pull(*api_);
      return reader.copy[kA]["name"] == name;
    })) << "[" << name << "] never reached the feed";
  }
  Sql(absl::StrCat("REPLACE INTO users VALUES ('", kA,
                   "', 'Grace', 'g@x', 3)"));
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy[kA]["name"] == "Grace";
  }));
  // One new row replacing two: kA by its key and kB by the unique email.
  Sql("ALTER TABLE users ADD UNIQUE KEY by_email (email)");
  Sql(absl::StrCat("REPLACE INTO users VALUES ('", kA, "', 'Both', 'b@x', 4)"));
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy[kA]["name"] == "Both" && reader.copy.count(kB) == 0;
  }));
  absl::SleepFor(absl::Milliseconds(600));  // a write-back would be done by now
  reader.Pull(*api_);
  EXPECT_EQ(reader.copy, TableCopy());
  EXPECT_EQ(TableCopy()[kA]["email"], "b@x");
}

// A statement that waited for another transaction's row lock writes after
// that transaction: its capture is stamped when it wrote, not when it
// started, so the engine keeps what MySQL ordered last.
TEST_F(FeedTest, AWriteThatWaitedForALockIsStampedWhenItWrote) {
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'start', NULL, 0)"));
  StartStack();
  auto a = MysqlSession::Connect(config_, db_->name());
  auto b = MysqlSession::Connect(config_, db_->name());
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string where = absl::StrCat(" WHERE uuid = '", kA, "'");
  ASSERT_TRUE((*a)->Execute("BEGIN").ok());
  ASSERT_TRUE((*a)->Execute("UPDATE users SET name = 'A1'" + where).ok());
  std::thread waiter([&] {  // starts now, writes after A commits
    EXPECT_TRUE((*b)->Execute("UPDATE users SET name = 'B'" + where).ok());
  });
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE((*a)->Execute("UPDATE users SET name = 'A2'" + where).ok());
  ASSERT_TRUE((*a)->Execute("COMMIT").ok());
  waiter.join();
  Reader reader;
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    auto pending = sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture");
    return pending.ok() && *pending == "0";
  }));
  absl::SleepFor(absl::Milliseconds(600));  // a write-back would be done by now
  reader.Pull(*api_);
  EXPECT_EQ(TableCopy()[kA]["name"], "B");
  EXPECT_EQ(reader.copy, TableCopy());
}

// A direct edit left uncommitted on a synced table holds its capture row
// locked; other sessions' edits are merged and reach the feed all the same
// (the merge deleted its capture rows with a scan, which waited for that
// row's lock until the other transaction ended).
TEST_F(FeedTest, AnOpenTransactionOnASyncedTableHoldsUpNoOtherCapture) {
  StartStack();
  Reader reader;
  reader.Pull(*api_);
  auto open = MysqlSession::Connect(config_, db_->name());
  ASSERT_TRUE(open.ok()) << open.status();
  ASSERT_TRUE((*open)->Execute("BEGIN").ok());
  ASSERT_TRUE((*open)
                  ->Execute(absl::StrCat("INSERT INTO users VALUES ('", kA,
                                         "', 'open', NULL, 1)"))
                  .ok());
  const std::vector<std::string> rows = {
      "30000000-0000-4000-8000-0000000000c1",
      "30000000-0000-4000-8000-0000000000c2",
      "30000000-0000-4000-8000-0000000000c3"};
  Sql(absl::StrCat("INSERT INTO users VALUES ('", rows[0],
                   "', 'a', NULL, 2), ('", rows[1], "', 'b', NULL, 3), ('",
                   rows[2], "', 'c', NULL, 4)"));
  // Up to 4 s (the contract's 2 s with room for a loaded machine), while the
  // other transaction stays open: before the fix they came only after it.
  Within(absl::Seconds(4), [&] {
    reader.Pull(*api_);
    return reader.copy.size() >= rows.size();
  });
  for (const std::string& row : rows)
    EXPECT_EQ(reader.copy.count(row), 1u) << row;
  EXPECT_EQ(reader.copy.count(kA), 0u);
  ASSERT_TRUE((*open)->Execute("COMMIT").ok());
  EXPECT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kA) > 0;
  }));
  EXPECT_EQ(reader.copy, TableCopy());
}

// Rows whose key is not a UUID never sync, and do not cut the snapshot's
// pages short: paging reads on past them.
TEST_F(FeedTest, SnapshotPagesReadPastKeysThatAreNotUuids) {
  // In key order: a row, two keys that are not UUIDs, a row, one more.
  const std::string first = "30000000-0000-4000-8000-000000000001";
  Sql(absl::StrCat("INSERT INTO users (uuid, name) VALUES ('", first,
                   "', 'a'), ('30000000-0000-4000-8000-00000000000:', 'no'), "
                   "('30000000-0000-4000-8000-00000000000;', 'no'), ('",
                   kB, "', 'b'), ('zzzz', 'no')"));
  StartStack();
  for (int limit : {1, 2, 3}) {
    SCOPED_TRACE(limit);
    std::vector<std::string> seen;
    std::string after;
    for (int page = 0; page < 10; ++page) {
      auto r = api_->Get(
          absl::StrCat("/v1/rows?table=users&limit=", limit, "&after=", after));
      ASSERT_TRUE(r.ok() && r->status == 200)
          << (r.ok() ? r->http.body : r.status().ToString());
      const auto& fields = r->json.struct_value().fields();
      for (const auto& row : fields.at("rows").list_value().values()) {
        seen.push_back(Str(row, {"row_id"}));
      }
      after = fields.at("next_after").string_value();
      if (!fields.at("has_more").bool_value()) break;
    }
    EXPECT_EQ(seen, (std::vector<std::string>{first, kB}));
  }
}

// The feed's updated_at is the row's newest time, also before 1970.
TEST_F(FeedTest, TimesBefore1970AreShownAsTheyAre) {
  StartStack();
  ASSERT_EQ(
      api_
          ->Edits(EditsBody(
              "users",
              {{"old-1", kA, "-1", false, {{"name", "a"}}},
               {"old-2", kB, "0001-01-01T00:00:00Z", false, {{"name", "b"}}}}))
          ->status,
      200);
  Reader reader;
  std::map<std::string, std::string> times;
  for (const auto& entry : reader.Pull(*api_)) {
    times[Str(entry, {"row_id"})] = Str(entry, {"updated_at"});
  }
  EXPECT_EQ(times[kA], "1969-12-31T23:59:59.999000Z");
  EXPECT_EQ(times[kB], "0001-01-01T00:00:00.000000Z");
}

// Triggers installed by another writer replica (or the migrate job) can be
// newer than this writer's cached schema: an edit of only a column added
// since is decoded against the table as it is now, not dropped.
TEST_F(FeedTest, ACapturedEditOfANewColumnIsMergedNotDropped) {
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'a', NULL, 1), ('",
                   kB, "', 'b', NULL, 2)"));
  StartStack({"--maintenance_interval=1h"});  // this writer keeps old triggers
  Reader reader;
  ASSERT_TRUE(Within2s([&] {
    reader.Pull(*api_);
    return reader.copy.count(kA) > 0;
  }));
  Sql("ALTER TABLE users ADD COLUMN c VARCHAR(20) NULL");
  // What a newer replica's trigger logs for UPDATE users SET c = 'sql', and
  // for an UPDATE of c and a column the writer knows.
  Sql("SET @sheetsync_writer = 1");
  Sql(absl::StrCat("UPDATE users SET c = 'sql' WHERE uuid = '", kA, "'"));
  Sql(absl::StrCat("UPDATE users SET c = 'sql', name = 'sql b' WHERE uuid = '",
                   kB, "'"));
  const int64_t at = absl::ToUnixMicros(absl::Now());
  auto merged = [&](const std::string& row, const std::string& cols,
                    const std::string& vals) {
    Sql(
        absl::StrCat("INSERT INTO _sheetsync_capture (tbl, op, row_id, "
                     "captured_at_us, cols, vals) VALUES ('users', 'U', '",
                     row, "', ", at, ", '", cols, "', '", vals, "')"));
    EXPECT_TRUE(Within2s([&] {
      auto pending =
          sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture");
      return pending.ok() && *pending == "0";
    }));
    auto versions = sql_->QueryValue(absl::StrCat(
        "SELECT GROUP_CONCAT(col ORDER BY col) FROM _sheetsync_cells "
        "WHERE tbl = 'users' AND row_id = '",
        row, "' AND ts_us = ", at));
    EXPECT_TRUE(versions.ok()) << versions.status();
    return versions.ok() ? versions->value_or("") : "";
  };
  EXPECT_EQ(merged(kB, R"(["c", "name"])", R"({"c": "sql", "name": "sql b"})"),
            "c,name")
      << "the captured edit of `c` was dropped";
  EXPECT_EQ(merged(kA, R"(["c"])", R"({"c": "sql"})"), "c")
      << "the captured edit of `c` was dropped";
  Sql("SET @sheetsync_writer = NULL");
}

TEST_F(FeedTest, SheetEditsNeverEchoAsMysqlAndExcludeOriginHidesThem) {
  StartStack();
  auto r = api_->Edits(EditsBody("users", {{"s-1", kA, Rfc3339(absl::ToUnixMicros(absl::Now())),
                                            false, {{"name", "sheet"}}}},
                                 "sheet-A"));
  ASSERT_EQ(r->status, 200);
  absl::SleepFor(absl::Seconds(1));  // a capture would have been merged by now
  Reader all, own;
  std::vector<google::protobuf::Value> entries = all.Pull(*api_);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(Str(entries[0], {"source"}), "SHEET");
  EXPECT_EQ(Str(entries[0], {"origin"}), "sheet-A");
  EXPECT_TRUE(own.Pull(*api_, 7, "&exclude_origin=sheet-A").empty());
  auto captured = sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture");
  EXPECT_EQ(*captured, "0");
  // A MYSQL change of the same row shows it to sheet-A again.
  Sql(absl::StrCat("UPDATE users SET score = 9 WHERE uuid = '", kA, "'"));
  ASSERT_TRUE(Within2s([&] { own.Pull(*api_, 7, "&exclude_origin=sheet-A"); return own.copy.count(kA) > 0; }));
  EXPECT_EQ(own.copy[kA]["score"], "9");
}

TEST_F(FeedTest, LosingSqlWritesAreUndoneAndNewerOnesWin) {
  StartStack();
  const int64_t now = absl::ToUnixMicros(absl::Now());
  // A sheet edit stamped ahead of the server clock (within the skew guard).
  ASSERT_EQ(api_->Edits(EditsBody("users", {{"l-1", kA, Rfc3339(now + 60'000'000), false,
                                             {{"name", "sheet wins"}}}}))->status,
            200);
  Sql(absl::StrCat("UPDATE users SET name = 'sql loses', score = 5 WHERE uuid = '", kA, "'"));
  ASSERT_TRUE(Within2s([&] {
    auto name = sql_->QueryValue(absl::StrCat("SELECT name FROM users WHERE uuid = '", kA, "'"));
    return name.ok() && *name == "sheet wins";
  }));
  EXPECT_EQ(*sql_->QueryValue(absl::StrCat("SELECT score FROM users WHERE uuid = '", kA, "'")),
            "5");  // the SQL write's other cell had no newer version: it won
  // A losing DELETE makes the row reappear.
  Sql(absl::StrCat("DELETE FROM users WHERE uuid = '", kA, "'"));
  ASSERT_TRUE(Within2s([&] {
    auto n = sql_->QueryValue(absl::StrCat("SELECT COUNT(*) FROM users WHERE uuid = '", kA, "'"));
    return n.ok() && *n == "1";
  }));
  // An older sheet edit loses to the SQL value and is told so.
  auto old = api_->Edits(EditsBody("users", {{"l-2", kA, Rfc3339(now - 60'000'000), false,
                                              {{"score", "1"}}}}));
  EXPECT_EQ(Str(old->result(0), {"status"}), "stale");
  EXPECT_EQ(Str(old->result(0), {"current_versions", "score", "source"}), "MYSQL");
  // The contract's shape: "origin" is there, "" for MYSQL.
  const google::protobuf::Value* origin =
      Find(old->result(0), {"current_versions", "score", "origin"});
  ASSERT_NE(origin, nullptr) << old->http.body;
  EXPECT_EQ(origin->string_value(), "");
}

// An SQL edit whose capture no poller has merged yet (the resolver polls
// once an hour here) and an older sheet edit of the same row: the sheet's
// plan, made without the SQL edit, must not write over it (MySQL kept the
// sheet's value while the engine recorded the SQL one as the winner, and a
// winning SQL value is never written back). The writer answers the plan with
// the pending edit, and the resolver merges it in.
TEST_F(FeedTest, AnOlderSheetEditNeverOverwritesAnSqlEditNotMergedYet) {
  StartStack({}, {"--capture_interval=1h"});
  constexpr char kC[] = "30000000-0000-4000-8000-00000000000c";
  constexpr char kD[] = "30000000-0000-4000-8000-00000000000d";
  constexpr char kG[] = "30000000-0000-4000-8000-0000000000ab";
  const int64_t now = absl::ToUnixMicros(absl::Now());
  // One sheet edit of one cell, `ago` seconds before now.
  auto edit = [&](const char* event, const char* row, int ago,
                  const char* column, const char* value) {
    auto r = api_->Edits(EditsBody("users", {{event,
                                              row,
                                              Rfc3339(now - ago * 1'000'000),
                                              false,
                                              {{column, value}}}}));
    EXPECT_TRUE(r.ok() && r->status == 200)
        << (r.ok() ? r->http.body : r.status().ToString());
    return r.ok() ? r->result(0) : google::protobuf::Value();
  };
  edit("p-0", kC, 60, "name", "sheet first");
  // An UPDATE of a row the engine knows, then an edit of the same cell
  // stamped before the UPDATE.
  Sql(absl::StrCat("UPDATE users SET name = 'sql', score = 7 WHERE uuid = '",
                   kC, "'"));
  const google::protobuf::Value older =
      edit("p-1", kC, 30, "name", "sheet older");
  EXPECT_EQ(Str(older, {"status"}), "stale");
  EXPECT_EQ(Str(older, {"current", "name"}), "sql");
  EXPECT_EQ(Str(older, {"current_versions", "name", "source"}), "MYSQL");
  // An INSERT of a row the engine never saw, then an older edit of another
  // of its cells: the insert's NULL email is newer, and its other values stay.
  Sql(absl::StrCat("INSERT INTO users (uuid, name, score) VALUES ('", kD,
                   "', 'sql row', 5)"));
  EXPECT_EQ(Str(edit("p-2", kD, 30, "email", "late@sheet"), {"status"}),
            "stale");
  // The same with the key in upper case, which the table's _ci key column
  // takes for the sheet's lower-case one.
  Sql(absl::StrCat("INSERT INTO users (uuid, name, score) VALUES (UPPER('", kG,
                   "'), 'SQL ROW', 6)"));
  EXPECT_EQ(Str(edit("p-4", kG, 30, "name", "late sheet"), {"status"}),
            "stale");

  Copy expected = {
      {kC, {{"name", "sql"}, {"email", "NULL"}, {"score", "7"}}},
      {kD, {{"name", "sql row"}, {"email", "NULL"}, {"score", "5"}}},
      {kG, {{"name", "SQL ROW"}, {"email", "NULL"}, {"score", "6"}}}};
  Copy in_mysql = expected;
  in_mysql[absl::AsciiStrToUpper(kG)] = in_mysql[kG];
  in_mysql.erase(kG);
  EXPECT_EQ(TableCopy(), in_mysql);
  // The captured edits were merged (consumed) by the sheet edits' commits,
  // and the feed, read as a sheet that excludes its own edits, has them.
  EXPECT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "0");
  EXPECT_EQ(MetricSum(stack_->metrics_urls(),
                      "sheetsync_capture_lag_seconds_count", {})
                .value_or(-1),
            3);
  Reader reader;
  reader.Pull(*api_, 7, "&exclude_origin=sheet-1");
  EXPECT_EQ(reader.copy, expected);
  // Newer sheet edits still win over them.
  EXPECT_EQ(Str(edit("p-3", kC, -30, "name", "sheet newer"), {"status"}),
            "applied");
  EXPECT_EQ(TableCopy()[kC]["name"], "sheet newer");
}

// The same check when the pending SQL edit sets a column added since the
// writer read the table (a newer replica's triggers logged it): the writer
// reads the table again and sends the edit back whole, instead of holding
// the sheet edit back until a poller merges it (none polls here).
TEST_F(FeedTest, APendingSqlEditOfANewColumnIsMergedByTheSheetEdit) {
  Sql(absl::StrCat("INSERT INTO users VALUES ('", kA, "', 'a', NULL, 1)"));
  StartStack({"--maintenance_interval=1h"}, {"--capture_interval=1h"});
  const int64_t now = absl::ToUnixMicros(absl::Now());
  auto edit = [&](const char* event, int ago, const char* value) {
    auto r = api_->Edits(EditsBody("users", {{event,
                                              kA,
                                              Rfc3339(now - ago * 1'000'000),
                                              false,
                                              {{"name", value}}}}));
    EXPECT_TRUE(r.ok() && r->status == 200)
        << (r.ok() ? r->http.body : r.status().ToString());
    return r.ok() ? r->result(0) : google::protobuf::Value();
  };
  edit("n-0", 60,
       "sheet first");  // the row's capture is merged, the schema cached
  EXPECT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "0");
  Sql("ALTER TABLE users ADD COLUMN c VARCHAR(20) NULL");
  Sql("SET @sheetsync_writer = 1");
  Sql(absl::StrCat("UPDATE users SET c = 'sql', name = 'sql' WHERE uuid = '",
                   kA, "'"));
  Sql(absl::StrCat(
      "INSERT INTO _sheetsync_capture (tbl, op, row_id, captured_at_us, cols, "
      "vals) VALUES ('users', 'U', '",
      kA, "', ", now, R"(, '["c", "name"]', '{"c": "sql", "name": "sql"}'))"));
  Sql("SET @sheetsync_writer = NULL");
  const google::protobuf::Value older = edit("n-1", 30, "sheet older");
  EXPECT_EQ(Str(older, {"status"}), "stale");
  EXPECT_EQ(Str(older, {"current", "name"}), "sql");
  EXPECT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "0");
  EXPECT_EQ(*sql_->QueryValue(absl::StrCat(
                "SELECT GROUP_CONCAT(col ORDER BY col) FROM _sheetsync_cells "
                "WHERE tbl = 'users' AND row_id = '",
                kA, "' AND ts_us = ", now)),
            "c,name");
  EXPECT_EQ(TableCopy()[kA]["name"], "sql");
  // An edit of the new column alone.
  Sql("SET @sheetsync_writer = 1");
  Sql(absl::StrCat("UPDATE users SET c = 'sql 2' WHERE uuid = '", kA, "'"));
  Sql(absl::StrCat(
      "INSERT INTO _sheetsync_capture (tbl, op, row_id, captured_at_us, cols, "
      "vals) VALUES ('users', 'U', '",
      kA, "', ", now + 1, R"(, '["c"]', '{"c": "sql 2", "name": "sql"}'))"));
  Sql("SET @sheetsync_writer = NULL");
  EXPECT_EQ(Str(edit("n-2", -30, "sheet newer"), {"status"}), "applied");
  EXPECT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "0");
  EXPECT_EQ(*sql_->QueryValue(absl::StrCat(
                "SELECT GROUP_CONCAT(col ORDER BY col) FROM _sheetsync_cells "
                "WHERE tbl = 'users' AND row_id = '",
                kA, "' AND ts_us = ", now + 1)),
            "c");
}

// An SQL edit of an upper-case key that triggers of an earlier version
// logged as stored ('ABC…'), waiting to be merged when the writer installs
// this version's triggers: the writer lower-cases it, so the check above
// still finds it and an older sheet edit does not write over it. And which
// triggers a writer replaces: earlier versions', and a newer version's only
// some time after they were installed.
TEST_F(FeedTest, AnEditLoggedByEarlierTriggersIsFoundAfterTheUpgrade) {
  StartStack({}, {"--capture_interval=1h"});
  constexpr char kH[] = "30000000-0000-4000-8000-0000000000ac";
  const std::string upper = absl::AsciiStrToUpper(kH);
  const int64_t now = absl::ToUnixMicros(absl::Now());
  // The INSERT as an earlier version captured it (no trigger logs it here).
  Sql("SET @sheetsync_writer = 1");
  Sql(absl::StrCat("INSERT INTO users (uuid, name, score) VALUES ('", upper,
                   "', 'sql row', 8)"));
  Sql("SET @sheetsync_writer = NULL");
  Sql(absl::StrCat(
      "INSERT INTO _sheetsync_capture (tbl, op, row_id, captured_at_us, cols, "
      "vals) VALUES ('users', 'I', '",
      upper, "', ", now - 10'000'000,
      ", NULL, '{\"name\": \"sql row\", \"email\": null, \"score\": "
      "\"8\"}')"));
  // The writer checks the table's triggers when it loads its schema (every
  // 5 s, on use).
  auto installed = [&] {
    return sql_
        ->QueryValue(
            "SELECT capture_sig FROM _sheetsync_tables WHERE tbl = 'users'")
        ->value_or("");
  };
  auto install = [&](const std::string& signature, int64_t at_us) {
    Sql(absl::StrCat("UPDATE _sheetsync_tables SET capture_sig = '", signature,
                     "', capture_sig_at_us = ", at_us, " WHERE tbl = 'users'"));
  };
  auto use_while = [&](const std::string& signature, absl::Duration d) {
    const absl::Time deadline = absl::Now() + d;
    while (installed() == signature && absl::Now() < deadline) {
      ASSERT_TRUE(api_->Get("/v1/changes?table=users").ok());
      absl::SleepFor(absl::Milliseconds(200));
    }
  };
  // A newer version's, installed a moment ago (a rolling release): left.
  install("6.0badf00d", absl::ToUnixMicros(absl::Now()));
  use_while("6.0badf00d", absl::Seconds(11));
  EXPECT_EQ(installed(), "6.0badf00d");
  // Unless the table has none (swapped for a copy meanwhile): replaced.
  auto names = sql_->Query(
      "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE "
      "TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'users'");
  ASSERT_TRUE(names.ok()) << names.status();
  for (const SqlRow& name : *names) {
    Sql(absl::StrCat("DROP TRIGGER `", *name[0], "`"));
  }
  use_while("6.0badf00d", absl::Seconds(20));
  ASSERT_NE(installed(), "6.0badf00d");
  // Installed an hour ago (rolled back since): replaced.
  install("6.0badf00d", absl::ToUnixMicros(absl::Now() - absl::Hours(1)));
  use_while("6.0badf00d", absl::Seconds(20));
  EXPECT_NE(installed(), "6.0badf00d");
  // An earlier version's (eight hex digits): replaced.
  install("1a2b3c4d", absl::ToUnixMicros(absl::Now()));
  use_while("1a2b3c4d", absl::Seconds(20));
  ASSERT_NE(installed(), "1a2b3c4d");

  auto r = api_->Edits(EditsBody("users", {{"u-1",
                                            kH,
                                            Rfc3339(now - 30'000'000),
                                            false,
                                            {{"name", "late sheet"}}}}));
  ASSERT_TRUE(r.ok() && r->status == 200)
      << (r.ok() ? r->http.body : r.status().ToString());
  EXPECT_EQ(Str(r->result(0), {"status"}), "stale") << r->http.body;
  EXPECT_EQ(TableCopy()[upper],
            (std::map<std::string, std::string>{
                {"name", "sql row"}, {"email", "NULL"}, {"score", "8"}}));
}

// The same check, by column: an SQL edit of another column does not hold
// the sheet edit back (it is neither lost nor merged in); and of a sheet's
// batch, only the row whose pending SQL edit it merged comes back to that
// sheet through the feed.
TEST_F(FeedTest, APendingSqlEditOfAnotherColumnOrRowLeavesTheSheetEditAlone) {
  // Reading first, a plan meets no rev conflict: what it meets is the check.
  StartStack({}, {"--capture_interval=1h", "--read_first=always"});
  constexpr char kE[] = "30000000-0000-4000-8000-00000000000e";
  constexpr char kF[] = "30000000-0000-4000-8000-00000000000f";
  const int64_t now = absl::ToUnixMicros(absl::Now());
  auto send = [&](std::vector<EditChange> changes) {
    auto r = api_->Edits(EditsBody("users", changes));
    EXPECT_TRUE(r.ok() && r->status == 200)
        << (r.ok() ? r->http.body : r.status().ToString());
    return r.ok() ? *r : ApiResponse();
  };
  const std::string at_60 = Rfc3339(now - 60'000'000),
                    at_30 = Rfc3339(now - 30'000'000);
  send({{"q-0", kE, at_60, false, {{"name", "e0"}}},
        {"q-1", kF, at_60, false, {{"name", "f0"}}}});
  Reader reader;
  reader.Pull(*api_, 7, "&exclude_origin=sheet-1");
  ASSERT_TRUE(reader.copy.empty());  // its own edits

  Sql(absl::StrCat("UPDATE users SET score = 9 WHERE uuid = '", kE, "'"));
  EXPECT_EQ(Str(send({{"q-2", kE, at_30, false, {{"name", "e1"}}}}).result(0),
                {"status"}),
            "applied");
  // Committed at once, around the SQL edit of `score`, still pending.
  EXPECT_EQ(*sql_->QueryValue("SELECT COUNT(*) FROM _sheetsync_capture"), "1");

  Sql(absl::StrCat("UPDATE users SET name = 'sql' WHERE uuid = '", kE, "'"));
  ApiResponse both = send({{"q-3", kE, at_30, false, {{"name", "e2"}}},
                           {"q-4", kF, at_30, false, {{"name", "f1"}}}});
  EXPECT_EQ(Str(both.result(0), {"status"}), "stale");
  EXPECT_EQ(Str(both.result(1), {"status"}), "applied");
  Copy expected = {
      {kE, {{"name", "sql"}, {"email", "NULL"}, {"score", "9"}}},
      {kF, {{"name", "f1"}, {"email", "NULL"}, {"score", "NULL"}}}};
  EXPECT_EQ(TableCopy(), expected);
  reader.Pull(*api_, 7, "&exclude_origin=sheet-1");
  EXPECT_EQ(reader.copy, (Copy{{kE, expected[kE]}}));
}

TEST_F(FeedTest, ConcurrentSheetAndSqlWritersWhileAReaderPages) {
  StartStack();
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {  // through the gateway
    writers.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int i = 0; i < 60; ++i) {
        const std::string row = absl::StrFormat("40000000-0000-4000-8000-%012d", rng() % 12);
        const bool del = rng() % 6 == 0;
        EditChange change{absl::StrCat("cw-", w, "-", i), row,
                          Rfc3339(absl::ToUnixMicros(absl::Now())), del};
        if (!del) change.cells = {{"name", absl::StrCat("sheet", w, "-", i)}};
        (void)api_->Edits(EditsBody("users", {change}, absl::StrCat("sheet-", w)));
      }
    });
  }
  for (int w = 0; w < 2; ++w) {  // plain SQL
    writers.emplace_back([&, w] {
      auto session = MysqlSession::Connect(config_, db_->name());
      std::mt19937 rng(100 + w);
      for (int i = 0; i < 60 && session.ok(); ++i) {
        const std::string row = absl::StrFormat("40000000-0000-4000-8000-%012d", rng() % 12);
        const int op = rng() % 3;
        (void)(*session)->Execute(
            op == 0 ? absl::StrCat("DELETE FROM users WHERE uuid = '", row, "'")
                    : absl::StrCat("INSERT INTO users (uuid, email, score) VALUES ('", row,
                                   "', 'sql", w, "-", i, "', ", i,
                                   ") ON DUPLICATE KEY UPDATE email = VALUES(email), "
                                   "score = VALUES(score)"));
      }
    });
  }
  Reader reader;
  std::thread paging([&] {
    while (!stop) {
      reader.Pull(*api_, 5);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  for (std::thread& t : writers) t.join();
  absl::SleepFor(absl::Seconds(2));  // every capture merged
  stop = true;
  paging.join();
  reader.Pull(*api_, 5);
  EXPECT_EQ(reader.copy, TableCopy());
}

TEST_F(FeedTest, PrunedCursorAnswers410AndTheSnapshotResyncs) {
  StartStack({"--retention=1s", "--prune_interval=300ms", "--maintenance_interval=200ms"});
  Reader reader;
  ASSERT_EQ(api_->Edits(EditsBody("users", {{"p-1", kA, Rfc3339(absl::ToUnixMicros(absl::Now())),
                                             false, {{"name", "a"}}}}))->status,
            200);
  reader.Pull(*api_);
  const std::string old_cursor = reader.cursor;
  for (int i = 0; i < 5; ++i) {
    const std::string row = absl::StrFormat("50000000-0000-4000-8000-%012d", i);
    ASSERT_EQ(api_->Edits(EditsBody("users", {{absl::StrCat("p-r", i), row,
                                               Rfc3339(absl::ToUnixMicros(absl::Now())), false,
                                               {{"name", absl::StrCat("r", i)}}}}))->status,
              200);
  }
  absl::SleepFor(absl::Seconds(3));  // past the retention, pruned
  auto expired = api_->Get("/v1/changes?table=users&since=" + old_cursor);
  ASSERT_EQ(expired->status, 410) << expired->http.body;
  EXPECT_EQ(Str(expired->json, {"error", "code"}), "cursor_expired");

  Reader fresh;  // resync: page the snapshot, then follow the feed
  std::string after, first_cursor;
  for (;;) {
    auto page = api_->Get("/v1/rows?table=users&limit=2&after=" + after);
    ASSERT_EQ(page->status, 200) << page->http.body;
    const auto& fields = page->json.struct_value().fields();
    if (first_cursor.empty()) first_cursor = fields.at("cursor").string_value();
    for (const auto& row : fields.at("rows").list_value().values()) {
      for (const auto& [column, value] :
           row.struct_value().fields().at("cells").struct_value().fields()) {
        fresh.copy[Str(row, {"row_id"})][column] = Text(value);
      }
    }
    after = fields.at("next_after").string_value();
    if (!fields.at("has_more").bool_value()) break;
  }
  fresh.cursor = first_cursor;
  Sql(absl::StrCat("UPDATE users SET score = 3 WHERE uuid = '", kA, "'"));
  ASSERT_TRUE(Within2s([&] { fresh.Pull(*api_); return fresh.copy[kA]["score"] == "3"; }));
  EXPECT_EQ(fresh.copy, TableCopy());
}

}  // namespace
}  // namespace sheetsync::test
