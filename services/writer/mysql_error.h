// Maps Connector/C++ exceptions to absl::Status at the MySQL adapter's edge,
// so that no sql::SQLException travels further. Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_MYSQL_ERROR_H_
#define SHEETSYNC_SERVICES_WRITER_MYSQL_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cppconn/exception.h"
#include "services/writer/mysql_pool.h"

namespace sheetsync {

// Returns UNAVAILABLE for a lost or unreachable server (and discards the
// connection), ABORTED for a deadlock or lock-wait timeout (retry the
// transaction), INTERNAL otherwise. `what` says what was being done.
absl::Status MysqlErrorStatus(const sql::SQLException& e, PooledConnection& conn,
                              absl::string_view what);

// Rolls back the connection's open transaction, ignoring errors (and
// discarding a connection that cannot roll back).
void RollbackQuietly(PooledConnection& conn);

// Returns the reject code of a MySQL error that refuses a row's values
// (duplicate_value, foreign_key, check_failed, value_too_long, out_of_range,
// invalid_value), or "" for any other error.
std::string RefusedValueCode(int mysql_error);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_MYSQL_ERROR_H_
