#include "services/writer/sql_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cppconn/statement.h"

namespace sheetsync {

std::string QuoteIdentifier(absl::string_view name) {
  return absl::StrCat("`", absl::StrReplaceAll(name, {{"`", "``"}}), "`");
}

std::string Literal(PooledConnection& conn, const std::string& text) {
  return absl::StrCat("'", conn.Escape(text), "'");
}

std::string ValueLiteral(PooledConnection& conn, const v1::SqlValue& value) {
  if (value.is_default()) return "DEFAULT";
  if (value.is_null()) return "NULL";
  return Literal(conn, value.text());
}

std::string InList(PooledConnection& conn,
                   const std::vector<std::string>& texts) {
  std::string out = "(";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out += ",";
    out += Literal(conn, texts[i]);
  }
  out += ")";
  return out;
}

std::unique_ptr<sql::ResultSet> Query(PooledConnection& conn,
                                      const std::string& sql) {
  std::unique_ptr<sql::Statement> stmt(conn->createStatement());
  return std::unique_ptr<sql::ResultSet>(stmt->executeQuery(sql));
}

int Execute(PooledConnection& conn, const std::string& sql) {
  std::unique_ptr<sql::Statement> stmt(conn->createStatement());
  return stmt->executeUpdate(sql);
}

int64_t QueryInt(PooledConnection& conn, const std::string& sql) {
  auto rs = Query(conn, sql);
  return rs->next() && !rs->isNull(1) ? rs->getInt64(1) : 0;
}

}  // namespace sheetsync
