#include "services/writer/mysql_error.h"

#include "absl/strings/str_cat.h"
#include "cppconn/connection.h"
#include "services/writer/sql_text.h"

namespace sheetsync {

absl::Status MysqlErrorStatus(const sql::SQLException& e, PooledConnection& conn,
                              absl::string_view what) {
  const int code = e.getErrorCode();
  const std::string message =
      absl::StrCat(what, ": MySQL error ", code, ": ", e.what());
  if (IsConnectionMysqlError(code) || code == 0) {
    conn.Discard();
    return absl::UnavailableError(message);
  }
  if (IsRetryableMysqlError(code)) return absl::AbortedError(message);
  return absl::InternalError(message);
}

void RollbackQuietly(PooledConnection& conn) {
  try {
    Execute(conn, "ROLLBACK");
  } catch (const sql::SQLException&) {
    conn.Discard();
  }
}

}  // namespace sheetsync
