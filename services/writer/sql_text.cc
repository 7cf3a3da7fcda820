#include "services/writer/sql_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cppconn/exception.h"
#include "cppconn/statement.h"

namespace sheetsync {

std::string QuoteIdentifier(absl::string_view name) {
  return absl::StrCat("`", absl::StrReplaceAll(name, {{"`", "``"}}), "`");
}

void AppendLiteral(PooledConnection& conn, std::string& out, absl::string_view text) {
  out.push_back('\'');
  conn.AppendEscaped(out, text);
  out.push_back('\'');
}

std::string Literal(PooledConnection& conn, absl::string_view text) {
  std::string out;
  AppendLiteral(conn, out, text);
  return out;
}

void AppendValueLiteral(PooledConnection& conn, std::string& out, const v1::SqlValue& value) {
  if (value.is_default()) {
    out += "DEFAULT";
  } else if (value.is_null()) {
    out += "NULL";
  } else {
    AppendLiteral(conn, out, value.text());
  }
}

std::string InList(PooledConnection& conn,
                   const std::vector<std::string>& texts) {
  std::string out = "(";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i > 0) out += ",";
    AppendLiteral(conn, out, texts[i]);
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

int SqlBatch::Add(std::string sql) { return AddQuery(std::move(sql), nullptr); }

int SqlBatch::AddQuery(std::string sql, Reader read) {
  if (!text_.empty()) text_ += ";\n";
  text_ += sql;
  readers_.push_back(std::move(read));
  return static_cast<int>(readers_.size()) - 1;
}

void SqlBatch::Run(PooledConnection& conn) {
  std::unique_ptr<sql::Statement> stmt(conn->createStatement());
  int index = 0;
  try {
    bool has_rows = stmt->execute(text_);
    for (; index < static_cast<int>(readers_.size()); ++index) {
      if (index > 0) has_rows = stmt->getMoreResults();
      if (!has_rows) continue;
      std::unique_ptr<sql::ResultSet> rows(stmt->getResultSet());
      if (readers_[index]) readers_[index](*rows);
    }
  } catch (const sql::SQLException&) {
    failed_index_ = index;
    // MySQL sends nothing after a failed statement, but a reader that threw
    // leaves results behind: read past them so the connection stays in sync.
    try {
      for (int i = index + 1; i < static_cast<int>(readers_.size()); ++i) {
        stmt->getMoreResults();
      }
    } catch (const sql::SQLException&) {
    }
    throw;
  }
}

void Begin(PooledConnection& conn) { Execute(conn, "START TRANSACTION"); }

void Commit(PooledConnection& conn) { Execute(conn, "COMMIT"); }

int64_t QueryInt(PooledConnection& conn, const std::string& sql) {
  auto rs = Query(conn, sql);
  return rs->next() && !rs->isNull(1) ? rs->getInt64(1) : 0;
}

NamedLock::NamedLock(PooledConnection& conn, absl::string_view name,
                     int timeout_s)
    : conn_(conn),
      // At most 64 characters (MySQL's limit): "sheetsync." and 40 hex.
      name_(absl::StrCat("CONCAT('sheetsync.', SHA1(CONCAT(DATABASE(), '.', ",
                         Literal(conn, name), ")))")) {
  // 1: taken; 0: timed out; NULL: an error (killed).
  held_ = QueryInt(conn_, absl::StrCat("SELECT GET_LOCK(", name_, ", ",
                                       timeout_s, ")")) == 1;
}

NamedLock::~NamedLock() {
  if (!held_) return;
  try {
    Execute(conn_, absl::StrCat("DO RELEASE_LOCK(", name_, ")"));
  } catch (const sql::SQLException&) {
    conn_.Discard();  // its session, and the lock, end with it
  }
}

LockWaitTimeout::LockWaitTimeout(PooledConnection& conn, int seconds,
                                 int restore)
    : conn_(conn), restore_(restore) {
  Execute(conn_, absl::StrCat("SET SESSION lock_wait_timeout = ", seconds));
}

LockWaitTimeout::~LockWaitTimeout() {
  try {
    Execute(conn_, absl::StrCat("SET SESSION lock_wait_timeout = ", restore_));
  } catch (const sql::SQLException&) {
    conn_.Discard();
  }
}

}  // namespace sheetsync
