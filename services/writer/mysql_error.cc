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
  // Read-only (a replica, a failover under way): unavailable for now, not a
  // fault of the request.
  if (code == 1290 || code == 1836 || code == 1792)
    return absl::UnavailableError(message);
  return absl::InternalError(message);
}

std::string RefusedValueCode(int mysql_error) {
  switch (mysql_error) {
    case 1062:  // ER_DUP_ENTRY: a UNIQUE value another row holds
      return "duplicate_value";
    case 1451:  // ER_ROW_IS_REFERENCED_2
    case 1452:  // ER_NO_REFERENCED_ROW_2
      return "foreign_key";
    case 3819:  // MySQL's ER_CHECK_CONSTRAINT_VIOLATED
    case 4025:  // MariaDB's ER_CONSTRAINT_FAILED
      return "check_failed";
    case 1406:  // ER_DATA_TOO_LONG
      return "value_too_long";
    case 1264:  // ER_WARN_DATA_OUT_OF_RANGE
    case 1690:  // ER_DATA_OUT_OF_RANGE
      return "out_of_range";
    case 1048:  // ER_BAD_NULL_ERROR
    case 1265:  // WARN_DATA_TRUNCATED
    case 1292:  // ER_TRUNCATED_WRONG_VALUE
    case 1366:  // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: e.g. a character the
                // column's character set lacks
    case 1367:  // ER_ILLEGAL_VALUE_FOR_TYPE
      return "invalid_value";
    default:
      return "";
  }
}

void RollbackQuietly(PooledConnection& conn) {
  try {
    Execute(conn, "ROLLBACK");
  } catch (const sql::SQLException&) {
    conn.Discard();
  }
}

}  // namespace sheetsync
