// The writer's SQL string literals (AppendLiteral and
// PooledConnection::AppendEscaped, which replaced Connector/C++'s
// escapeString) against a MariaDB of the test's own whose global sql_mode has
// NO_BACKSLASH_ESCAPES, under which backslash escapes would be stored as
// typed:
// - the pool's sessions clear that mode,
// - every byte string comes back verbatim from a VARBINARY column, and valid
//   UTF-8 text from a utf8mb4 one,
// - valid UTF-8 is escaped byte for byte as Connector/C++ escapes it.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mysql_connection.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/sql_text.h"
#include "tests/support/mysql_test_env.h"

namespace sheetsync::test {
namespace {

// Byte strings rich in what escaping is about: every special character,
// UTF-8 lead and continuation bytes in and out of order, and random bytes.
std::vector<std::string> ByteStrings() {
  std::vector<std::string> out;
  for (int b = 0; b < 256; ++b) out.push_back(std::string(1, static_cast<char>(b)));
  const std::string pieces[] = {std::string(1, '\0'), "\n", "\r", "\032", "\\", "'", "\"",
                                "%", "_", "a", "\xc3", "\xa9", "\xc3\xa9", "\xff", "\x80",
                                "\xf0\x9f\x98\x80", "\xbf", "\x5c", "\xe2\x80"};
  std::mt19937 rng(7);
  for (int i = 0; i < 600; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 24);
    for (int j = 0; j < n; ++j) {
      if (rng() % 4 == 0) {
        s.push_back(static_cast<char>(rng() % 256));
      } else {
        s += pieces[rng() % std::size(pieces)];
      }
    }
    out.push_back(s);
  }
  return out;
}

// Valid UTF-8 text with the special characters among letters and emoji.
std::vector<std::string> Texts() {
  const std::string pieces[] = {std::string(1, '\0'), "\n", "\r", "\032", "\\", "'", "\"",
                                "%", "x", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                "\\'", "''", "\\\\"};
  std::vector<std::string> out;
  std::mt19937 rng(11);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 16);
    for (int j = 0; j < n; ++j) s += pieces[rng() % std::size(pieces)];
    out.push_back(s);
  }
  return out;
}

TEST(SqlLiteralTest, EveryStringComesBackVerbatimWhateverTheServersSqlMode) {
  absl::StatusOr<std::unique_ptr<OwnMariadb>> db =
      OwnMariadb::Start("sqlliteral", "--sql-mode=NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES");
  ASSERT_TRUE(db.ok()) << db.status();
  const MysqlTestConfig& config = (*db)->config();
  {
    auto session = MysqlSession::Connect(config, config.database);
    ASSERT_TRUE(session.ok()) << session.status();
    ASSERT_TRUE((*session)
                    ->Execute("CREATE TABLE lit (id INT PRIMARY KEY, b VARBINARY(512), "
                              "t VARCHAR(255) CHARACTER SET utf8mb4) ENGINE=InnoDB")
                    .ok());
  }
  MysqlConfig pool_config;
  pool_config.port = config.port;
  pool_config.user = config.user;
  pool_config.password = config.password;
  pool_config.database = config.database;
  pool_config.pool_size = 1;
  MysqlPool pool(pool_config);
  EnsureMysqlThreadInit();
  absl::StatusOr<PooledConnection> conn = pool.Acquire(absl::Seconds(10));
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_EQ(QueryInt(*conn, "SELECT @@GLOBAL.sql_mode LIKE '%NO_BACKSLASH_ESCAPES%'"), 1)
      << "the server was not started with the mode this test is about";
  EXPECT_EQ(QueryInt(*conn, "SELECT @@SESSION.sql_mode LIKE '%NO_BACKSLASH_ESCAPES%'"), 0);

  const std::vector<std::string> bytes = ByteStrings();
  const std::vector<std::string> texts = Texts();
  std::string insert = "INSERT INTO lit (id, b, t) VALUES ";
  for (size_t i = 0; i < bytes.size(); ++i) {
    absl::StrAppend(&insert, i ? "," : "", "(", i, ",", Literal(*conn, bytes[i]), ",NULL)");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    absl::StrAppend(&insert, ",(", 100000 + i, ",NULL,");
    AppendLiteral(*conn, insert, texts[i]);
    insert += ")";
  }
  Execute(*conn, insert);

  auto* native = static_cast<sql::mysql::MySQL_Connection*>(&**conn);
  for (const std::string& text : texts) {
    std::string ours;
    conn->AppendEscaped(ours, text);
    EXPECT_EQ(ours, std::string(native->escapeString(text)))
        << "escaped differently from Connector/C++: " << absl::CHexEscape(text);
  }

  std::unique_ptr<sql::ResultSet> rows =
      Query(*conn, "SELECT id, HEX(b), HEX(t) FROM lit ORDER BY id");
  size_t seen = 0;
  while (rows->next()) {
    ++seen;
    const int64_t id = rows->getInt64(1);
    const bool is_text = id >= 100000;
    const std::string& sent = is_text ? texts[id - 100000] : bytes[id];
    EXPECT_EQ(std::string(rows->getString(is_text ? 3 : 2)),
              absl::AsciiStrToUpper(absl::BytesToHexString(sent)))
        << "stored differently from what was sent: " << absl::CHexEscape(sent);
  }
  EXPECT_EQ(seen, bytes.size() + texts.size());
}

}  // namespace
}  // namespace sheetsync::test
