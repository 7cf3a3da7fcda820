// Any table structure (issue 4) through the real binaries and MariaDB: table
// shapes round-tripping sheet -> MySQL -> feed, one request per rejection
// class, a column added while the services run, the registry reloaded from
// its file and managed through the gateway's admin routes, and unregistered
// tables answering 404.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/integration/api.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {
namespace {

using ::google::protobuf::Value;
using ::testing::HasSubstr;

constexpr char kToken[] = "tables-token";
constexpr char kAdminToken[] = "tables-admin-token";
const int64_t kT0 = 1764082869123000;  // 2025-11-25T15:01:09.123Z

// Tables the test creates before the services start.
constexpr const char* kSchema[] = {
    // Every type the coercion library supports.
    "CREATE TABLE all_types (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " b BOOLEAN NULL, ti TINYINT NULL, si SMALLINT UNSIGNED NULL,"
    " mi MEDIUMINT NULL, i INT NULL, iu INT UNSIGNED NULL, bi BIGINT NULL,"
    " bu BIGINT UNSIGNED NULL, de DECIMAL(10,2) NULL, fl FLOAT NULL,"
    " dbl DOUBLE NULL, d DATE NULL, dt DATETIME(6) NULL, ts TIMESTAMP(3) NULL,"
    " tm TIME NULL, yr YEAR NULL, ch CHAR(4) NULL, vc VARCHAR(8) NULL,"
    " tx TEXT NULL, bn BINARY(4) NULL, vb VARBINARY(8) NULL, bl BLOB NULL,"
    " js JSON NULL, en ENUM('red','green') NULL, st SET('a','b','c') NULL,"
    " uu UUID NULL)",
    // A reserved word, unicode, spaces and a backtick.
    "CREATE TABLE `order` (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " `first name` VARCHAR(50) NULL, `größe` INT NULL, `名前` TEXT NULL,"
    " `a``b` VARCHAR(10) NULL, `select` VARCHAR(10) NULL)",
    // Generated columns are read-only; the feed shows them.
    "CREATE TABLE computed (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " price DECIMAL(8,2) NULL, qty INT NULL,"
    " total DECIMAL(10,2) AS (price * qty) STORED,"
    " label VARCHAR(20) AS (CONCAT('x', qty)) VIRTUAL)",
    // `balance` is excluded by the registry file; the key is not `uuid`.
    "CREATE TABLE accounts (id CHAR(36) NOT NULL PRIMARY KEY,"
    " owner VARCHAR(40) NULL, balance DECIMAL(12,2) NOT NULL DEFAULT 7.50)",
    // One of each rejection class.
    "CREATE TABLE strict_t (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " name VARCHAR(5) NOT NULL DEFAULT '', n TINYINT NOT NULL DEFAULT 0,"
    " d DATE NULL, e ENUM('a','b') NULL, js JSON NULL,"
    " twice INT AS (n * 2) VIRTUAL)",
    "CREATE TABLE evolving (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " a VARCHAR(10) NULL)",
    "CREATE TABLE late (uuid CHAR(36) NOT NULL PRIMARY KEY, v INT NULL)",
    "CREATE TABLE shrinking (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " keep VARCHAR(10) NULL, gone INT NULL)",
    "CREATE TABLE via_admin (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " v VARCHAR(10) NULL, locked VARCHAR(10) NULL)",
    "CREATE TABLE int_key (id INT NOT NULL PRIMARY KEY, uuid CHAR(36) NULL)",
    // NOT NULL columns without a DEFAULT, which strict mode makes every
    // INSERT name.
    "CREATE TABLE required_t (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " a INT NOT NULL, e ENUM('x','y') NOT NULL, b VARCHAR(10) NULL)",
    // A key column that tells case apart.
    "CREATE TABLE cs_key (uuid CHAR(36) CHARACTER SET ascii COLLATE ascii_bin"
    " NOT NULL PRIMARY KEY, v INT NULL)",
    // Loses its primary key while registered.
    "CREATE TABLE rekeyed (uuid CHAR(36) NOT NULL PRIMARY KEY, v INT NULL)",
    // Types whose captured text is not exact (FLOAT to 6 digits, BIT), with
    // a row there before registration, and an unregistered copy to compare.
    "CREATE TABLE inexact (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " fl FLOAT NULL, bt BIT(12) NULL, n INT NULL)",
    "CREATE TABLE inexact_ref LIKE inexact",
    "INSERT INTO inexact VALUES"
    " ('10000000-0000-4000-8000-0000000000f1', 12345.67, b'101010101010', 1)",
    "INSERT INTO inexact_ref SELECT * FROM inexact",
    // Values MySQL refuses beyond what coercion checks: another UNIQUE key,
    // a CHECK constraint, a character set without the character.
    "CREATE TABLE uq (uuid CHAR(36) NOT NULL PRIMARY KEY,"
    " email VARCHAR(40) NULL UNIQUE, name VARCHAR(20) NULL,"
    " ck INT NULL CHECK (ck IS NULL OR ck > 0),"
    " l1 VARCHAR(10) CHARACTER SET latin1 NULL,"
    " lt TINYTEXT CHARACTER SET latin1 NULL)",
    // A spatial column: no text form, logged as its bytes.
    "CREATE TABLE geo (uuid CHAR(36) NOT NULL PRIMARY KEY, a INT NULL, p POINT "
    "NULL)",
    "INSERT INTO geo VALUES ('50000000-0000-4000-8000-0000000000a1', 1, "
    "POINT(1, 2))",
    // Its key column is renamed while registered.
    "CREATE TABLE renamed (uuid CHAR(36) NOT NULL PRIMARY KEY, v INT NULL)",
    // A key of MariaDB's UUID type, with a row there before registration.
    "CREATE TABLE uuid_key (id UUID NOT NULL PRIMARY KEY, v INT NULL)",
    "INSERT INTO uuid_key VALUES ('30000000-0000-4000-8000-0000000000e1', 7)",
    // A key column that allows NULL cannot be registered.
    "CREATE TABLE nullable_key (uuid CHAR(36) NULL UNIQUE, v INT NULL)",
};

// Returns the 100-column table: c001..c100, INT and VARCHAR in turn.
std::string WideTableSql() {
  std::string sql = "CREATE TABLE wide (uuid CHAR(36) NOT NULL PRIMARY KEY";
  for (int i = 1; i <= 100; ++i) {
    absl::StrAppendFormat(&sql, ", c%03d %s NULL", i,
                          i % 2 == 0 ? "INT" : "VARCHAR(16)");
  }
  return sql + ")";
}

std::string RegistryJson(bool with_late) {
  return absl::StrCat(
      R"({"tables": [
  {"name": "all_types"}, {"name": "order"}, {"name": "computed"},
  {"name": "accounts", "key_column": "id", "sheet": "Accounts",
   "read_only_columns": ["balance"]},
  {"name": "strict_t"}, {"name": "evolving"}, {"name": "shrinking"},
  {"name": "wide"}, {"name": "rekeyed"}, {"name": "required_t"},
  {"name": "cs_key"}, {"name": "inexact"}, {"name": "uq"},
  {"name": "uuid_key", "key_column": "id"}, {"name": "renamed"}, {"name": "geo"},
  {"name": "Straße `x` data", "key_column": "Row ID",
   "create_if_missing": true, "headers": ["first name", "名前"]})",
      with_late ? R"(, {"name": "late"})" : "", "]}\n");
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

Value Json(const std::string& text) {
  Value value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &value).ok())
      << text;
  return value;
}

std::string ToJson(const Value& value) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(value, &out);
  return out;
}

class TablesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = new MysqlTestConfig(*config);
    absl::StatusOr<ScratchDatabase> db =
        ScratchDatabase::Create(*config, "tables");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = new ScratchDatabase(*std::move(db));
    auto root = MysqlSession::ConnectAdmin(*config_, db_->name());
    ASSERT_TRUE(root.ok()) << root.status();
    for (const char* ddl : kSchema) {
      ASSERT_TRUE((*root)->Execute(ddl).ok()) << ddl;
    }
    ASSERT_TRUE((*root)->Execute(WideTableSql()).ok());

    char dir[] = "/tmp/sheetsync-tables-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = new std::string(dir);
    registry_file_ = new std::string(*dir_ + "/registry.json");
    WriteRegistry(/*with_late=*/false);

    StackOptions options;
    options.mysql = *config;
    options.database = db_->name();
    options.token = kToken;
    options.tables = {};   // the registry file only
    options.replicas = 2;  // admin registrations must reach every writer
    options.writer_flags = {absl::StrCat("--registry=", *registry_file_),
                            "--maintenance_interval=250ms"};
    options.gateway_flags = {absl::StrCat("--admin_token=", kAdminToken)};
    absl::StatusOr<std::unique_ptr<Stack>> stack = Stack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = stack->release();
  }

  static void TearDownTestSuite() {
    delete stack_;
    delete db_;
    delete config_;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete registry_file_;
  }

  // Replaces the registry file atomically (write, then rename).
  static void WriteRegistry(bool with_late) {
    const std::string tmp = *registry_file_ + ".tmp";
    std::ofstream(tmp) << RegistryJson(with_late);
    ASSERT_EQ(std::rename(tmp.c_str(), registry_file_->c_str()), 0);
  }

  static Api api() { return Api(stack_->gateway_url(), kToken); }

  static std::string NewRowId() {
    static int n = 0;
    return absl::StrCat("00000000-0000-4000-8000-",
                        absl::StrFormat("%012d", ++n));
  }

  // POSTs one change of `cells` (a JSON object) to `table`.
  static absl::StatusOr<ApiResponse> Post(const std::string& table,
                                          const std::string& row,
                                          const std::string& cells_json) {
    static int n = 0;
    EditChange change;
    change.event_id = absl::StrCat("tables-", ++n);
    change.row_id = row;
    change.updated_at = Rfc3339(kT0 + n);
    change.cells_json = cells_json;
    return api().Edits(EditsBody(table, {change}));
  }

  // Returns the feed entry of `row` (its last one), reading the whole feed.
  static absl::StatusOr<Value> FeedEntry(const std::string& table,
                                         const std::string& row) {
    std::string cursor;
    std::optional<Value> found;
    for (;;) {
      absl::StatusOr<ApiResponse> page =
          api().Get(absl::StrCat("/v1/changes?table=", UrlEncode(table),
                                 "&limit=5000&since=", cursor));
      if (!page.ok()) return page.status();
      if (page->status != 200) {
        return absl::InternalError(
            absl::StrCat(page->status, " ", page->http.body));
      }
      const auto& fields = page->json.struct_value().fields();
      for (const Value& entry : fields.at("changes").list_value().values()) {
        if (Str(entry, {"row_id"}) == row) found = entry;
      }
      cursor = fields.at("next_cursor").string_value();
      if (!fields.at("has_more").bool_value()) break;
    }
    if (!found) return absl::NotFoundError("row not in the feed");
    return *found;
  }

  // Reads `row`'s feed entry until it is there and `done` holds for it, or
  // 5 s pass; returns the last read.
  template <typename Done>
  static absl::StatusOr<Value> AwaitFeedEntry(const std::string& table,
                                              const std::string& row,
                                              Done done) {
    absl::StatusOr<Value> entry;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    do {
      absl::SleepFor(absl::Milliseconds(100));
      entry = FeedEntry(table, row);
    } while (!(entry.ok() && done(*entry)) && absl::Now() < deadline);
    return entry;
  }

  static absl::StatusOr<std::vector<SqlRow>> Sql(const std::string& sql) {
    auto session = MysqlSession::Connect(*config_, db_->name());
    if (!session.ok()) return session.status();
    return (*session)->Query(sql);
  }

  static absl::Status RootSql(const std::string& sql) {
    auto session = MysqlSession::ConnectAdmin(*config_, db_->name());
    if (!session.ok()) return session.status();
    return (*session)->Execute(sql);
  }

  static absl::StatusOr<ApiResponse> Admin(
      const std::string& method, const std::string& target,
      const std::string& body = "", const std::string& token = kAdminToken) {
    absl::StatusOr<HttpResponse> http =
        HttpRequest(stack_->gateway_url() + target, method,
                    {{"Authorization", absl::StrCat("Bearer ", token)},
                     {"Content-Type", "application/json"}},
                    body);
    if (!http.ok()) return http.status();
    ApiResponse response;
    response.status = http->status;
    response.json = ParseJson(http->body);
    response.http = *std::move(http);
    return response;
  }

  // POSTs `cells` to `table` and expects the feed to show `expected` (every
  // column but the key) for the row.
  static void RoundTrip(const std::string& table, const std::string& cells,
                        const std::string& expected) {
    const std::string row = NewRowId();
    absl::StatusOr<ApiResponse> r = Post(table, row, cells);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << r->http.body;
    ASSERT_EQ(Str(r->result(0), {"status"}), "applied") << r->http.body;
    absl::StatusOr<Value> entry = FeedEntry(table, row);
    ASSERT_TRUE(entry.ok()) << entry.status();
    const Value& got = entry->struct_value().fields().at("cells");
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(got, Json(expected)))
        << "table " << table << "\n got:  " << ToJson(got)
        << "\n want: " << expected;
  }

  static MysqlTestConfig* config_;
  static ScratchDatabase* db_;
  static Stack* stack_;
  static std::string* dir_;
  static std::string* registry_file_;
};

MysqlTestConfig* TablesTest::config_ = nullptr;
ScratchDatabase* TablesTest::db_ = nullptr;
Stack* TablesTest::stack_ = nullptr;
std::string* TablesTest::dir_ = nullptr;
std::string* TablesTest::registry_file_ = nullptr;

TEST_F(TablesTest, EveryTypeRoundTripsInCanonicalForm) {
  RoundTrip("all_types",
            R"({"b": true, "ti": -128, "si": "65535", "mi": -8388608,
                "i": 42.0, "iu": 4294967295, "bi": "-9223372036854775808",
                "bu": "18446744073709551615", "de": "12.3", "fl": 0.5,
                "dbl": 1e-16, "d": "2026-02-28",
                "dt": "2026-11-25T15:01:09.123456Z",
                "ts": "2026-11-25 15:01:09.5+01:00", "tm": "-838:59:59",
                "yr": 2155, "ch": "abcd", "vc": "héllo✓", "tx": "two\nlines",
                "bn": "ab", "vb": "xyz", "bl": {"base64": "/wA="},
                "js": {"b": [1, 2.5], "a": {"c": null}}, "en": "green",
                "st": "c,a", "uu": "4F1C2D9E-3B7A-4C51-9E0F-1A2B3C4D5E6F"})",
            R"({"b": true, "ti": -128, "si": 65535, "mi": -8388608, "i": 42,
                "iu": 4294967295, "bi": "-9223372036854775808",
                "bu": "18446744073709551615", "de": "12.30", "fl": 0.5,
                "dbl": 1e-16, "d": "2026-02-28",
                "dt": "2026-11-25 15:01:09.123456",
                "ts": "2026-11-25 14:01:09.500", "tm": "-838:59:59",
                "yr": 2155, "ch": "abcd", "vc": "héllo✓", "tx": "two\nlines",
                "bn": "ab\u0000\u0000", "vb": "xyz", "bl": {"base64": "/wA="},
                "js": {"a": {"c": null}, "b": [1, 2.5]}, "en": "green",
                "st": "a,c", "uu": "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f"})");
  // MySQL holds the canonical text; MariaDB's JSON (LONGTEXT + CHECK) is JSON.
  auto rows =
      Sql("SELECT de, st, JSON_VALID(js), JSON_EXTRACT(js, '$.b[1]') "
          "FROM all_types");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0], (SqlRow{"12.30", "a,c", "1", "2.5"}));
}

TEST_F(TablesTest, ReservedWordsUnicodeSpacesAndBackticksWork) {
  RoundTrip("order",
            R"({"first name": "Ada", "größe": 7, "名前": "エイダ",
                "a`b": "tick", "select": "x"})",
            R"({"first name": "Ada", "größe": 7, "名前": "エイダ",
                "a`b": "tick", "select": "x"})");
  RoundTrip("Straße `x` data", R"({"first name": "Bo", "名前": "ボ"})",
            R"({"first name": "Bo", "名前": "ボ"})");
  // A direct SQL edit of such columns is captured through the triggers.
  const std::string row = "00000000-0000-4000-8000-0000000fffff";
  ASSERT_TRUE(RootSql(absl::StrCat("INSERT INTO `Straße ``x`` data` "
                                   "(`Row ID`, `first name`, `名前`) VALUES ('",
                                   row, "', 'sql', '直接')"))
                  .ok());
  absl::StatusOr<Value> entry;
  for (int i = 0; i < 40; ++i) {
    entry = FeedEntry("Straße `x` data", row);
    if (entry.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(Str(*entry, {"source"}), "MYSQL");
  EXPECT_EQ(Str(*entry, {"cells", "名前"}), "直接");
}

TEST_F(TablesTest, HundredColumnsRoundTrip) {
  std::vector<std::string> cells;
  for (int i = 1; i <= 100; ++i) {
    cells.push_back(i % 2 == 0 ? absl::StrFormat("\"c%03d\": %d", i, i * 1000)
                               : absl::StrFormat("\"c%03d\": \"v%d\"", i, i));
  }
  const std::string json = absl::StrCat("{", absl::StrJoin(cells, ","), "}");
  RoundTrip("wide", json, json);
}

TEST_F(TablesTest, GeneratedAndExcludedColumnsAreReadOnlyButInTheFeed) {
  RoundTrip("computed", R"({"price": "2.5", "qty": 4})",
            R"({"price": "2.50", "qty": 4, "total": "10.00", "label": "x4"})");
  RoundTrip("accounts", R"({"owner": "Ada"})",
            R"({"owner": "Ada", "balance": "7.50"})");
  for (const auto& [table, column] :
       std::vector<std::pair<std::string, std::string>>{
           {"computed", "total"}, {"accounts", "balance"}}) {
    const std::string row = NewRowId();
    absl::StatusOr<ApiResponse> r =
        Post(table, row, absl::StrCat("{\"", column, "\": 1}"));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 422) << r->http.body;
    EXPECT_EQ(Str(r->result(0), {"code"}), "read_only_column");
    EXPECT_THAT(Str(r->result(0), {"error"}), HasSubstr(column));
  }
}

TEST_F(TablesTest, EachRejectionClassWritesNothing) {
  struct Case {
    const char* cells;
    const char* code;
    std::vector<std::string> message_parts;
  };
  const std::vector<Case> cases = {
      {R"({"name": null})", "null_not_allowed", {"`name`", "NOT NULL", "null"}},
      {R"({"n": ""})", "null_not_allowed", {"`n`", "empty cell"}},
      {R"({"n": "abc"})", "type_mismatch", {"`n`", "abc"}},
      {R"({"n": 300})", "out_of_range", {"`n`", "300", "TINYINT"}},
      {R"({"n": 1.5})", "type_mismatch", {"`n`", "1.5"}},
      {R"({"d": "2026-02-30"})",
       "invalid_value",
       {"`d`", "2026-02-30", "DATE"}},
      {R"({"name": "toolong"})", "value_too_long", {"`name`", "toolong", "5"}},
      {R"({"e": "c"})", "invalid_value", {"`e`", "c", "a"}},
      {R"({"js": "{not json"})", "invalid_value", {"`js`", "JSON"}},
      {R"({"twice": 4})", "read_only_column", {"`twice`", "read-only"}},
      {R"({"nope": 1})", "unknown_column", {"`nope`"}},
      {R"({"uuid": "x"})", "key_column", {"`uuid`", "row_id"}},
      // One bad cell rejects the whole change: `name` is not written either.
      {R"({"name": "ok", "n": 999})", "out_of_range", {"`n`", "999"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cells);
    const std::string row = NewRowId();
    absl::StatusOr<ApiResponse> r = Post("strict_t", row, c.cells);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 422) << r->http.body;
    EXPECT_EQ(Str(r->json, {"error", "code"}), "all_rejected");
    EXPECT_EQ(Str(r->result(0), {"status"}), "rejected");
    EXPECT_EQ(Str(r->result(0), {"code"}), c.code) << r->http.body;
    for (const std::string& part : c.message_parts) {
      EXPECT_THAT(Str(r->result(0), {"error"}), HasSubstr(part));
    }
    auto written = Sql(absl::StrCat(
        "SELECT (SELECT COUNT(*) FROM strict_t WHERE uuid = '", row,
        "') + (SELECT COUNT(*) FROM _sheetsync_cells WHERE row_id = '", row,
        "') + (SELECT COUNT(*) FROM _sheetsync_rows WHERE row_id = '", row,
        "')"));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ((*written)[0][0], "0");
  }
}

TEST_F(TablesTest, ColumnAddedAtRunTimeSyncsOnTheNextRequest) {
  RoundTrip("evolving", R"({"a": "before"})", R"({"a": "before"})");
  ASSERT_TRUE(
      RootSql("ALTER TABLE evolving ADD COLUMN `new col` INT NULL").ok());
  RoundTrip("evolving", R"({"a": "after", "new col": 5})",
            R"({"a": "after", "new col": 5})");
  auto rows = Sql("SELECT COUNT(*) FROM evolving WHERE `new col` = 5");
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ((*rows)[0][0], "1");
}

TEST_F(TablesTest, DroppedColumnIsRejectedAndNeverHalfWritten) {
  for (int i = 0; i < 2; ++i) {  // every ingest replica caches the column
    RoundTrip("shrinking", R"({"keep": "k", "gone": 1})",
              R"({"keep": "k", "gone": 1})");
  }
  ASSERT_TRUE(RootSql("ALTER TABLE shrinking DROP COLUMN gone").ok());
  std::vector<int> statuses;
  // Until the schema caches (5 s) catch up the answer is 503 (nothing
  // written, retry); then the change is rejected naming the column.
  absl::StatusOr<ApiResponse> r;
  const absl::Time deadline = absl::Now() + absl::Seconds(8);
  while (absl::Now() < deadline) {
    const std::string row = NewRowId();
    r = Post("shrinking", row, R"({"keep": "k2", "gone": 2})");
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_THAT(r->status, ::testing::AnyOf(503, 422)) << r->http.body;
    auto written = Sql(absl::StrCat(
        "SELECT COUNT(*) FROM shrinking WHERE uuid = '", row, "'"));
    ASSERT_TRUE(written.ok()) << written.status();
    EXPECT_EQ((*written)[0][0], "0");
    statuses.push_back(r->status);
    if (r->status == 422) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(r->status, 422) << r->http.body;
  EXPECT_EQ(statuses.front(), 503) << "the caches were not primed";
  EXPECT_EQ(Str(r->result(0), {"code"}), "unknown_column");
  EXPECT_THAT(Str(r->result(0), {"error"}), HasSubstr("`gone`"));
}

// Columns NOT NULL without a DEFAULT hold their implicit default until
// written, and edits of other columns (partial upserts of an existing row,
// a delete that erases some cells, a captured SQL edit) still commit.
TEST_F(TablesTest, NotNullColumnsWithoutDefaultDoNotBlockPartialWrites) {
  const std::string row = NewRowId();
  auto change = [&](const std::string& id, int64_t at,
                    const std::string& cells) {
    EditChange c{id, row, Rfc3339(at), cells.empty()};
    c.cells_json = cells;
    return c;
  };
  const int64_t t = kT0 + 5'000'000;
  for (const EditChange& c :
       {change("req-b", t, R"({"b": "new"})"),
        change("req-a", t + 2, R"({"a": 5})"),
        change("req-b2", t + 4, R"({"b": "later"})"),
        change("req-del", t + 3, "")}) {  // erases a, b survives
    absl::StatusOr<ApiResponse> r = api().Edits(EditsBody("required_t", {c}));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 200) << c.event_id << ": " << r->http.body;
    EXPECT_EQ(Str(r->result(0), {"status"}), "applied") << r->http.body;
  }
  auto stored = Sql(
      absl::StrCat("SELECT a, e, b FROM required_t WHERE uuid = '", row, "'"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0][0], "0");
  EXPECT_EQ((*stored)[0][1], "x");
  EXPECT_EQ((*stored)[0][2], "later");

  ASSERT_TRUE(
      RootSql(absl::StrCat("UPDATE required_t SET b = 'sql' WHERE uuid = '",
                           row, "'"))
          .ok());
  absl::StatusOr<Value> entry = AwaitFeedEntry(
      "required_t", row,
      [](const Value& e) { return Str(e, {"source"}) == "MYSQL"; });
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(Str(*entry, {"source"}), "MYSQL") << "the SQL edit was not merged";
  EXPECT_EQ(Str(*entry, {"cells", "b"}), "sql");
  auto pending = Sql("SELECT COUNT(*) FROM _sheetsync_capture");
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ((*pending)[0][0], "0");
}

// Keys written by SQL in upper case. Where the key column ignores case they
// are the same rows as the sheet's lower-case ids (a stale edit gets the
// row's current values); where it tells case apart, 'ABC…' and 'abc…' are
// two rows and only the lower-case one syncs.
// What SQL writes stays as written: the engine never writes a winning SQL
// value back (the captured text of FLOAT has 6 digits, and of BIT(12) an
// odd number of hex digits), neither for rows there at registration nor for
// SQL inserts and updates later.
TEST_F(TablesTest, SqlWritesOfInexactTypesStayAsWritten) {
  const std::string before = "10000000-0000-4000-8000-0000000000f1";
  const std::string after = "10000000-0000-4000-8000-0000000000f2";
  for (const char* table : {"inexact", "inexact_ref"}) {
    ASSERT_TRUE(RootSql(absl::StrCat("INSERT INTO ", table, " VALUES ('", after,
                                     "', 16777217, b'000000000101', 2)"))
                    .ok());
  }
  for (const std::string& row : {before, after}) {
    absl::StatusOr<Value> entry =
        AwaitFeedEntry("inexact", row, [](const Value&) { return true; });
    ASSERT_TRUE(entry.ok()) << entry.status();
  }
  auto differing = [] {
    auto rows =
        Sql("SELECT COUNT(*) FROM inexact i JOIN inexact_ref r USING (uuid) "
            "WHERE NOT (i.fl <=> r.fl AND i.bt <=> r.bt AND i.n <=> r.n)");
    return rows.ok() && rows->size() == 1 ? (*rows)[0][0].value_or("?")
                                          : "error";
  };
  EXPECT_EQ(differing(), "0");
  // An update of another column, captured and merged: the row stays too.
  for (const char* table : {"inexact", "inexact_ref"}) {
    ASSERT_TRUE(
        RootSql(absl::StrCat("UPDATE ", table,
                             " SET n = 3, fl = 123.456789 WHERE uuid = '",
                             after, "'"))
            .ok());
  }
  absl::StatusOr<Value> updated =
      AwaitFeedEntry("inexact", after, [](const Value& entry) {
        const Value* n = Find(entry, {"cells", "n"});
        return n != nullptr && n->number_value() == 3;
      });
  ASSERT_TRUE(updated.ok()) << updated.status();
  absl::SleepFor(absl::Milliseconds(500));  // a write-back would be done by now
  EXPECT_EQ(differing(), "0");
}

// A value MySQL refuses (another row's UNIQUE value, a CHECK constraint, a
// character its character set lacks) rejects that change alone: the other
// rows of the request are written, and no other row is touched. (The upsert
// used to update the row that held the e-mail: a new row took it over.)
TEST_F(TablesTest, ValuesMysqlRefusesRejectOnlyTheirChange) {
  const std::string a = "20000000-0000-4000-8000-0000000000a1";
  const std::string b = "20000000-0000-4000-8000-0000000000b1";
  const std::string c = "20000000-0000-4000-8000-0000000000c1";
  const std::string d = "20000000-0000-4000-8000-0000000000d1";
  auto post = [](std::vector<EditChange> changes) {
    absl::StatusOr<ApiResponse> r = api().Edits(EditsBody("uq", changes));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApiResponse();
  };
  auto change = [](const std::string& event, const std::string& row, int64_t at,
                   const std::string& cells) {
    EditChange edit{event, row, Rfc3339(at)};
    edit.cells_json = cells;
    return edit;
  };
  ApiResponse first = post(
      {change("uq-a", a, kT0, R"({"email": "x@example.com", "name": "Alice"})"),
       change("uq-d", d, kT0,
              R"({"email": "y@example.com", "name": "Dora"})")});
  ASSERT_EQ(first.status, 200) << first.http.body;
  ApiResponse mixed =
      post({change("uq-b", b, kT0 + 1,
                   R"({"email": "x@example.com", "name": "Bob"})"),
            change("uq-c", c, kT0 + 1, R"({"name": "Carol"})"),
            change("uq-d2", d, kT0 + 1, R"({"email": "x@example.com"})"),
            change("uq-ck", c, kT0 + 2, R"({"ck": -1})")});
  ASSERT_EQ(mixed.status, 422) << mixed.http.body;  // every change rejected
  EXPECT_EQ(Str(mixed.result(0), {"code"}), "duplicate_value")
      << mixed.http.body;
  EXPECT_EQ(Str(mixed.result(2), {"code"}), "duplicate_value")
      << mixed.http.body;
  // Both changes of row c share its fate: the refused CHECK rejects them.
  EXPECT_EQ(Str(mixed.result(1), {"code"}), "check_failed") << mixed.http.body;
  EXPECT_EQ(Str(mixed.result(3), {"code"}), "check_failed") << mixed.http.body;
  ApiResponse carol = post({change("uq-c2", c, kT0 + 3, R"({"name": "Carol"})"),
                            change("uq-l1", b, kT0 + 3, R"({"l1": "日本"})")});
  ASSERT_EQ(carol.status, 200) << carol.http.body;
  EXPECT_EQ(Str(carol.result(0), {"status"}), "applied") << carol.http.body;
  EXPECT_EQ(Str(carol.result(1), {"code"}), "invalid_value") << carol.http.body;
  auto rows =
      Sql("SELECT uuid, COALESCE(email, '-'), name FROM uq ORDER BY uuid");
  ASSERT_TRUE(rows.ok()) << rows.status();
  std::vector<std::string> got;
  for (const SqlRow& row : *rows) {
    got.push_back(absl::StrCat(*row[0], " ", *row[1], " ", *row[2]));
  }
  EXPECT_THAT(got,
              ::testing::ElementsAre(absl::StrCat(a, " x@example.com Alice"),
                                     absl::StrCat(c, " - Carol"),
                                     absl::StrCat(d, " y@example.com Dora")));
  // A latin1 TINYTEXT holds 255 bytes, one per character: 200 'é' fit (they
  // were refused as 400 bytes of UTF-8).
  std::string e200;
  for (int i = 0; i < 200; ++i) e200 += "\u00e9";
  ApiResponse latin1 = post({change(
      "uq-lt", d, kT0 + 4, absl::StrCat(R"({"lt": ")", e200, R"("})"))});
  EXPECT_EQ(Str(latin1.result(0), {"status"}), "applied") << latin1.http.body;
  auto stored = Sql(absl::StrCat(
      "SELECT LENGTH(lt), CHAR_LENGTH(lt) FROM uq WHERE uuid = '", d, "'"));
  ASSERT_TRUE(stored.ok() && stored->size() == 1) << stored.status();
  EXPECT_EQ((*stored)[0][0].value_or(""), "200");
  EXPECT_EQ((*stored)[0][1].value_or(""), "200");
  // Replays of the rejected changes are not duplicates: nothing was stored.
  ApiResponse again = post({change(
      "uq-b", b, kT0 + 1, R"({"email": "z@example.com", "name": "Bob"})")});
  EXPECT_EQ(Str(again.result(0), {"status"}), "applied") << again.http.body;
}

// The resync snapshot from the start lists the rows of a table keyed by
// MariaDB's UUID type (it compared the key with '', no UUID, and found none).
TEST_F(TablesTest, SnapshotOfAUuidTypedKeyStartsAtTheFirstRow) {
  absl::StatusOr<ApiResponse> page = api().Get("/v1/rows?table=uuid_key");
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->status, 200) << page->http.body;
  const Value* rows = Find(page->json, {"rows"});
  ASSERT_NE(rows, nullptr) << page->http.body;
  ASSERT_EQ(rows->list_value().values_size(), 1) << page->http.body;
  EXPECT_EQ(Str(rows->list_value().values(0), {"row_id"}),
            "30000000-0000-4000-8000-0000000000e1");
}

// A table with a spatial column syncs its other columns (its capture
// triggers cast the point to text, which failed every write and the feed).
TEST_F(TablesTest, ASpatialColumnDoesNotStopTheTable) {
  const std::string there = "50000000-0000-4000-8000-0000000000a1";
  absl::StatusOr<Value> entry =
      AwaitFeedEntry("geo", there, [](const Value&) { return true; });
  ASSERT_TRUE(entry.ok()) << entry.status();
  RoundTrip("geo", R"({"a": 2})", R"({"a": 2, "p": null})");
  const std::string row = "50000000-0000-4000-8000-0000000000a2";
  ASSERT_TRUE(RootSql(absl::StrCat("INSERT INTO geo VALUES ('", row,
                                   "', 3, POINT(3, 4))"))
                  .ok());
  entry = AwaitFeedEntry("geo", row, [](const Value&) { return true; });
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(Str(*entry, {"source"}), "MYSQL");
  auto point = Sql(
      absl::StrCat("SELECT ST_AsText(p) FROM geo WHERE uuid = '", row, "'"));
  ASSERT_TRUE(point.ok() && point->size() == 1) << point.status();
  EXPECT_EQ((*point)[0][0].value_or(""), "POINT(3 4)");
}

TEST_F(TablesTest, UpperCaseKeysWrittenBySql) {
  const std::string upper = "ABCDEF00-0000-4000-8000-0000000000A1";
  const std::string lower = absl::AsciiStrToLower(upper);
  ASSERT_TRUE(RootSql(absl::StrCat("INSERT INTO evolving (uuid, a) VALUES ('",
                                   upper, "', 'sql')"))
                  .ok());
  // The insert is captured and merged.
  absl::StatusOr<Value> entry =
      AwaitFeedEntry("evolving", lower, [](const Value&) { return true; });
  ASSERT_TRUE(entry.ok()) << entry.status();
  EditChange older{"upper-old", lower, Rfc3339(kT0)};
  older.cells_json = R"({"a": "sheet"})";
  absl::StatusOr<ApiResponse> r = api().Edits(EditsBody("evolving", {older}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "stale") << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"current", "a"}), "sql") << r->http.body;

  const std::string cs_upper = "ABCDEF00-0000-4000-8000-0000000000B1";
  const std::string cs_lower = absl::AsciiStrToLower(cs_upper);
  ASSERT_TRUE(
      RootSql(absl::StrCat("INSERT INTO cs_key VALUES ('", cs_upper, "', 1)"))
          .ok());
  EditChange sheet{"cs-sheet", cs_lower, Rfc3339(kT0)};
  sheet.cells_json = R"({"v": 2})";
  r = api().Edits(EditsBody("cs_key", {sheet}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  absl::SleepFor(absl::Milliseconds(600));  // the SQL insert's capture is done
  entry = FeedEntry("cs_key", cs_lower);
  ASSERT_TRUE(entry.ok()) << entry.status();
  const Value* v = Find(*entry, {"cells", "v"});
  ASSERT_NE(v, nullptr) << ToJson(*entry);
  EXPECT_EQ(v->number_value(), 2);
  auto rows = Sql("SELECT uuid, v FROM cs_key ORDER BY uuid");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0][0], cs_upper);
  EXPECT_EQ((*rows)[0][1], "1");  // not synced, and not overwritten
  EXPECT_EQ((*rows)[1][0], cs_lower);
  EXPECT_EQ((*rows)[1][1], "2");
}

// A registered table whose key loses its unique index cannot sync: every
// route says so with a 5xx (which clients retry) until it is fixed, never
// with the feed's 410 (which would send a client to resync, in vain).
TEST_F(TablesTest, ATableThatLostItsKeyAnswers500UntilFixed) {
  RoundTrip("rekeyed", R"({"v": 1})", R"({"v": 1})");
  // Polls `path` until it answers `status` twice in a row (every writer
  // replica's schema cache, 5 s, has seen the change) or 10 s pass.
  auto settle = [](const std::string& path, int status) {
    absl::StatusOr<ApiResponse> r;
    int in_a_row = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (in_a_row < 2 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(200));
      r = api().Get(path);
      if (!r.ok()) return r;
      in_a_row = r->status == status ? in_a_row + 1 : 0;
    }
    return r;
  };
  ASSERT_TRUE(RootSql("ALTER TABLE rekeyed DROP PRIMARY KEY").ok());
  for (const char* path :
       {"/v1/changes?table=rekeyed", "/v1/rows?table=rekeyed"}) {
    absl::StatusOr<ApiResponse> r = settle(path, 500);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 500) << path << ": " << r->http.body;
    EXPECT_EQ(Str(r->json, {"error", "code"}), "table_cannot_sync");
    EXPECT_THAT(Str(r->json, {"error", "message"}), HasSubstr("UNIQUE"));
  }
  ASSERT_TRUE(RootSql("ALTER TABLE rekeyed ADD PRIMARY KEY (uuid)").ok());
  absl::StatusOr<ApiResponse> r = settle("/v1/changes?table=rekeyed", 200);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->http.body;
  // Edits sync again once the ingest and resolver caches see the key too.
  const std::string row = NewRowId();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    r = Post("rekeyed", row, R"({"v": 2})");
    ASSERT_TRUE(r.ok()) << r.status();
    if (r->status == 200) break;
    EXPECT_EQ(r->status, 500) << r->http.body;
    absl::SleepFor(absl::Milliseconds(200));
  } while (absl::Now() < deadline);
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->result(0), {"status"}), "applied") << r->http.body;
}

// Renaming the key column makes the table unable to sync; the capture
// triggers, which name the old column, go with it, so SQL writes to the
// table keep working (they failed: "Unknown column 'uuid' in 'NEW'"). Once
// the key is back, SQL edits are captured again.
TEST_F(TablesTest, RenamingTheKeyColumnLeavesSqlWritesWorking) {
  RoundTrip("renamed", R"({"v": 1})", R"({"v": 1})");
  ASSERT_TRUE(RootSql("ALTER TABLE renamed RENAME COLUMN uuid TO id").ok());
  const std::string row = "40000000-0000-4000-8000-0000000000a1";
  absl::Status insert;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    insert = RootSql(
        absl::StrCat("INSERT INTO renamed (id, v) VALUES ('", row, "', 5)"));
  } while (!insert.ok() && absl::Now() < deadline);
  EXPECT_TRUE(insert.ok()) << insert;
  ASSERT_TRUE(RootSql("ALTER TABLE renamed RENAME COLUMN id TO uuid").ok());
  const std::string later = "40000000-0000-4000-8000-0000000000a2";
  absl::StatusOr<Value> entry;
  const absl::Time until = absl::Now() + absl::Seconds(10);
  do {  // the maintenance loop (every 250 ms here) reinstalls the triggers
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_TRUE(RootSql(absl::StrCat("REPLACE INTO renamed (uuid, v) VALUES ('",
                                     later, "', 6)"))
                    .ok());
    entry = AwaitFeedEntry("renamed", later, [](const Value&) { return true; });
  } while (!entry.ok() && absl::Now() < until);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(Str(*entry, {"source"}), "MYSQL");
}

TEST_F(TablesTest, UnregisteredTablesAnswer404) {
  const std::string row = NewRowId();
  for (const char* table : {"users", "no_such_table", "_sheetsync_rows"}) {
    SCOPED_TRACE(table);
    absl::StatusOr<ApiResponse> r = Post(table, row, R"({"name": "x"})");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 404) << r->http.body;
    EXPECT_EQ(Str(r->json, {"error", "code"}), "unknown_table");
    r = api().Get(absl::StrCat("/v1/changes?table=", table));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 404) << r->http.body;
  }
}

TEST_F(TablesTest, RegistryFileIsReloadedWithoutRestart) {
  const std::string row = NewRowId();
  absl::StatusOr<ApiResponse> r = Post("late", row, R"({"v": 1})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 404) << r->http.body;

  WriteRegistry(/*with_late=*/true);
  r = Post("late", row, R"({"v": 1})");  // the writer re-reads the file
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->http.body;

  WriteRegistry(/*with_late=*/false);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline) {
    r = Post("late", NewRowId(), R"({"v": 2})");
    if (r.ok() && r->status == 404) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404) << r->http.body;
  // Unregistered: the capture triggers go (right after the table stops
  // being served).
  absl::StatusOr<std::vector<SqlRow>> triggers;
  while (absl::Now() < deadline) {
    triggers =
        Sql("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE "
            "TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'late'");
    if (!triggers.ok() || (*triggers)[0][0] == "0") break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(triggers.ok()) << triggers.status();
  EXPECT_EQ((*triggers)[0][0], "0");
}

TEST_F(TablesTest, AdminRoutesNeedTheAdminToken) {
  absl::StatusOr<ApiResponse> r =
      Admin("GET", "/v1/admin/tables", "", kToken);  // the edit token
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  r = Admin("GET", "/v1/admin/tables", "", "wrong");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  absl::StatusOr<HttpResponse> edits = HttpRequest(
      stack_->gateway_url() + "/v1/edits", "POST",
      {{"Authorization", absl::StrCat("Bearer ", kAdminToken)}}, "{}");
  ASSERT_TRUE(edits.ok()) << edits.status();
  EXPECT_EQ(edits->status, 401);

  r = Admin("GET", "/v1/admin/tables");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  bool saw_accounts = false;
  for (const Value& table :
       r->json.struct_value().fields().at("tables").list_value().values()) {
    if (Str(table, {"config", "name"}) != "accounts") continue;
    saw_accounts = true;
    EXPECT_EQ(Str(table, {"source"}), "file");
    EXPECT_EQ(Str(table, {"config", "sheet"}), "Accounts");
    EXPECT_TRUE(table.struct_value().fields().at("ready").bool_value());
  }
  EXPECT_TRUE(saw_accounts) << r->http.body;
  r = Admin("GET", "/v1/admin/tables/" + UrlEncode("Straße `x` data"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->json, {"config", "key_column"}), "Row ID");
}

TEST_F(TablesTest, AdminRouteRegistersAndUnregistersTables) {
  const std::string row = NewRowId();
  absl::StatusOr<ApiResponse> r = Post("via_admin", row, R"({"v": "a"})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 404) << r->http.body;

  r = Admin("PUT", "/v1/admin/tables/via_admin",
            R"({"sheet": "Admin", "read_only_columns": ["locked"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  EXPECT_EQ(Str(r->json, {"source"}), "admin");
  bool locked_read_only = false;
  for (const Value& column :
       r->json.struct_value().fields().at("columns").list_value().values()) {
    if (Str(column, {"name"}) == "locked") {
      locked_read_only =
          column.struct_value().fields().at("read_only").bool_value();
    }
  }
  EXPECT_TRUE(locked_read_only) << r->http.body;
  // Stored in MySQL, so each writer replica serves it at once.
  auto stored =
      Sql("SELECT config FROM _sheetsync_registry WHERE tbl = 'via_admin'");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_THAT(*(*stored)[0][0], HasSubstr("locked"));
  for (int i = 0; i < 4; ++i) {  // round-robin over both writers
    r = Post("via_admin", NewRowId(), R"({"v": "a"})");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200) << r->http.body;
  }
  r = Post("via_admin", row, R"({"locked": "no"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Str(r->result(0), {"code"}), "read_only_column");

  // Created on registration, with a UUID key and TEXT columns.
  r = Admin("PUT", "/v1/admin/tables/" + UrlEncode("made by admin"),
            R"({"create_if_missing": true, "headers": ["Title", "Body"]})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->http.body;
  RoundTrip("made by admin", R"({"Title": "t", "Body": "b"})",
            R"({"Title": "t", "Body": "b"})");

  r = Admin("DELETE", "/v1/admin/tables/via_admin");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->http.body;
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int not_found_in_a_row = 0;  // both writer replicas
  while (not_found_in_a_row < 2 && absl::Now() < deadline) {
    r = Post("via_admin", NewRowId(), R"({"v": "b"})");
    ASSERT_TRUE(r.ok()) << r.status();
    not_found_in_a_row = r->status == 404 ? not_found_in_a_row + 1 : 0;
  }
  EXPECT_EQ(not_found_in_a_row, 2);
  r = Admin("DELETE", "/v1/admin/tables/via_admin");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404) << r->http.body;
}

TEST_F(TablesTest, AdminRouteRefusesBadRegistrations) {
  struct Case {
    const char* method;
    std::string target;
    const char* body;
    int status;
    const char* code;
  };
  const std::vector<Case> cases = {
      {"PUT", "/v1/admin/tables/all_types", "{}", 409, "registered_by_config"},
      {"DELETE", "/v1/admin/tables/all_types", "", 409, "registered_by_config"},
      {"PUT", "/v1/admin/tables/missing", "{}", 404, "unknown_table"},
      {"PUT", "/v1/admin/tables/int_key", "{}", 422, "table_cannot_sync"},
      {"PUT", "/v1/admin/tables/int_key", R"({"key_column": "id"})", 422,
       "table_cannot_sync"},
      {"PUT", "/v1/admin/tables/nullable_key", "{}", 422, "table_cannot_sync"},
      {"PUT", "/v1/admin/tables/late", R"({"nmae": "late"})", 400,
       "bad_request"},
      {"PUT", "/v1/admin/tables/_sheetsync_rows", "{}", 400,
       "invalid_table_config"},
      {"PUT", "/v1/admin/tables/late", R"({"create_if_missing": true})", 400,
       "invalid_table_config"},
      {"GET", "/v1/admin/tables/missing", "", 404, "unknown_table"},
      {"POST", "/v1/admin/tables", "", 405, "method_not_allowed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.method, " ", c.target, " ", c.body));
    absl::StatusOr<ApiResponse> r = Admin(c.method, c.target, c.body);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, c.status) << r->http.body;
    EXPECT_EQ(Str(r->json, {"error", "code"}), c.code) << r->http.body;
    EXPECT_FALSE(Str(r->json, {"error", "message"}).empty());
  }
}

}  // namespace
}  // namespace sheetsync::test
