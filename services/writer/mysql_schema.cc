// MysqlVersionStore: migrations, registration and schema discovery.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cppconn/resultset.h"
#include "cppconn/resultset_metadata.h"
#include "cppconn/statement.h"
#include "mysql_connection.h"
#include "services/common/process.h"
#include "services/common/status_macros.h"
#include "services/writer/mysql_error.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

constexpr absl::Duration kAcquireWait = absl::Seconds(5);
constexpr int kCantDropFieldOrKey = 1091;  // ER_CANT_DROP_FIELD_OR_KEY
constexpr int kDuplicateKeyName = 1061;    // ER_DUP_KEYNAME
constexpr int kDuplicateFieldName = 1060;  // ER_DUP_FIELDNAME

constexpr const char* kMigrations[] = {
    "CREATE TABLE IF NOT EXISTS `_sheetsync_tables` ("
    " tbl VARCHAR(64) NOT NULL PRIMARY KEY,"
    " key_column VARCHAR(64) NOT NULL,"
    " registered_at_us BIGINT NOT NULL,"
    " pruned_horizon_us BIGINT NOT NULL DEFAULT 0,"
    " next_seq BIGINT NOT NULL DEFAULT 0,"    // last feed position handed out
    " pruned_seq BIGINT NOT NULL DEFAULT 0,"  // feed positions <= it are gone
    " capture_sig VARCHAR(16) NOT NULL DEFAULT '',"
    " capture_sig_at_us BIGINT NOT NULL DEFAULT 0"  // when it was installed
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_rows` ("
    " tbl VARCHAR(64) NOT NULL,"
    " row_id CHAR(36) NOT NULL,"
    " rev BIGINT NOT NULL DEFAULT 0,"
    " tomb_us BIGINT NULL,"
    " tomb_event VARBINARY(128) NULL,"
    " tomb_source TINYINT NULL,"
    " tomb_origin VARCHAR(255) NULL,"
    " updated_us BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (tbl, row_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_cells` ("
    " tbl VARCHAR(64) NOT NULL,"
    " row_id CHAR(36) NOT NULL,"
    " col VARCHAR(64) NOT NULL,"
    " val LONGBLOB NULL,"
    " ts_us BIGINT NOT NULL,"
    " event_id VARBINARY(128) NOT NULL,"
    " source TINYINT NOT NULL,"
    " origin VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (tbl, row_id, col)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_events` ("
    " tbl VARCHAR(64) NOT NULL,"
    " event_id VARBINARY(128) NOT NULL,"
    " stored_at_us BIGINT NOT NULL,"
    " PRIMARY KEY (tbl, event_id),"
    " KEY by_age (stored_at_us)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_changelog` ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " tbl VARCHAR(64) NOT NULL,"
    " row_id CHAR(36) NOT NULL,"
    " source TINYINT NOT NULL,"
    " origin VARCHAR(255) NOT NULL,"
    " logged_at_us BIGINT NOT NULL,"
    " seq BIGINT NULL,"
    " KEY by_seq (tbl, seq),"  // InnoDB appends id: also the unsequenced in id
                               // order
    " KEY by_age (tbl, logged_at_us)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_registry` ("
    " tbl VARCHAR(64) NOT NULL PRIMARY KEY,"
    " config LONGTEXT NOT NULL,"  // the TableConfig as JSON
    " updated_at_us BIGINT NOT NULL"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS `_sheetsync_capture` ("
    " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " tbl VARCHAR(64) NOT NULL,"
    " op CHAR(1) NOT NULL,"
    " row_id VARCHAR(255) NOT NULL,"
    " captured_at_us BIGINT NOT NULL,"
    " cols LONGTEXT NULL,"
    " vals LONGTEXT NULL,"
    " lease_until_us BIGINT NOT NULL DEFAULT 0,"
    " KEY by_table (tbl, id),"
    " KEY by_row (tbl, row_id)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
};

// Whether information_schema.<view> has a row for `table` whose `field` is
// `name`.
bool InformationSchemaHas(PooledConnection& conn, const char* view,
                          const char* field, const char* table,
                          const char* name) {
  auto rs = Query(
      conn, absl::StrCat("SELECT 1 FROM information_schema.", view,
                         " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '",
                         table, "' AND ", field, " = '", name, "' LIMIT 1"));
  return rs->next();
}

bool HasIndex(PooledConnection& conn, const char* table, const char* index) {
  return InformationSchemaHas(conn, "STATISTICS", "INDEX_NAME", table, index);
}

bool HasColumn(PooledConnection& conn, const char* table, const char* column) {
  return InformationSchemaHas(conn, "COLUMNS", "COLUMN_NAME", table, column);
}

// Whether a key column of `collation` (in `charset`) tells 'A' from 'a',
// as the server compares them: no name tells it for all (MySQL's
// utf8mb4_ja_0900_as_cs_ks does, its utf8mb4_cs_0900_ai_ci, Czech, does
// not). No collation: not text (binary key columns are refused anyway).
bool TellsCaseApart(PooledConnection& conn, const std::string& charset,
                    const std::string& collation) {
  auto name = [](const std::string& text) {
    return !text.empty() && absl::c_all_of(text, [](char c) {
      return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  };
  if (collation.empty()) return true;
  if (name(charset) && name(collation)) {
    try {
      auto rs = Query(
          conn, absl::StrCat("SELECT CONVERT('A' USING ", charset, ") COLLATE ",
                             collation, " = CONVERT('a' USING ", charset,
                             ") COLLATE ", collation));
      if (rs->next()) return rs->getInt(1) == 0;
    } catch (const sql::SQLException&) {
      // By the name below.
    }
  }
  return absl::EndsWith(collation, "_bin") || absl::EndsWith(collation, "_cs");
}

// Brings the tables earlier versions created up to date. Added:
// `_sheetsync_tables.capture_sig_at_us` (EnsureCapture). Dropped: `unsequenced
// (tbl, seq, id)` repeated by_seq, to which InnoDB appends the primary key
// anyway (an index entry less per commit). Added: the capture's `by_row`, which
// every commit that writes user-table rows reads (ApplyOnce's check for SQL
// edits not merged yet).
void MigrateIndexes(PooledConnection& conn) {
  if (HasIndex(conn, "_sheetsync_changelog", "unsequenced")) {
    try {
      Execute(conn,
              "ALTER TABLE `_sheetsync_changelog` DROP INDEX unsequenced");
    } catch (const sql::SQLException& e) {
      // Another writer starting at the same time dropped it first.
      if (e.getErrorCode() != kCantDropFieldOrKey) throw;
    }
  }
  if (!HasColumn(conn, "_sheetsync_tables", "capture_sig_at_us")) {
    try {
      Execute(conn,
              "ALTER TABLE `_sheetsync_tables` ADD COLUMN capture_sig_at_us "
              "BIGINT NOT NULL DEFAULT 0");
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() != kDuplicateFieldName) throw;  // added meanwhile
    }
  }
  if (!HasIndex(conn, "_sheetsync_capture", "by_row")) {
    try {
      Execute(
          conn,
          "ALTER TABLE `_sheetsync_capture` ADD INDEX by_row (tbl, row_id)");
    } catch (const sql::SQLException& e) {
      if (e.getErrorCode() != kDuplicateKeyName) throw;  // added meanwhile
    }
  }
}

// Parses information_schema.COLUMNS.COLUMN_DEFAULT. MariaDB quotes string
// defaults and spells a NULL default 'NULL'; MySQL gives strings bare.
v1::SqlValue ParseDefault(const std::string& text) {
  v1::SqlValue value;
  if (text == "NULL") {
    value.set_is_null(true);
  } else if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    value.set_text(absl::StrReplaceAll(text.substr(1, text.size() - 2),
                                       {{"''", "'"}, {"\\\\", "\\"}}));
  } else {
    value.set_text(text);
  }
  return value;
}

// Returns the members of "enum('a','b')" or "set('a','b')".
std::vector<std::string> ParseMembers(absl::string_view column_type) {
  std::vector<std::string> members;
  size_t open = column_type.find('(');
  if (open == absl::string_view::npos) return members;
  std::string current;
  bool quoted = false;
  for (size_t i = open + 1; i < column_type.size(); ++i) {
    char c = column_type[i];
    if (!quoted) {
      if (c == '\'') quoted = true;
      continue;
    }
    if (c == '\'' && i + 1 < column_type.size() && column_type[i + 1] == '\'') {
      current.push_back('\'');
      ++i;
    } else if (c == '\'') {
      quoted = false;
      members.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return members;
}

v1::Column ReadColumn(sql::ResultSet& rs) {
  v1::Column column;
  column.set_name(std::string(rs.getString("COLUMN_NAME")));
  column.set_data_type(
      absl::AsciiStrToLower(std::string(rs.getString("DATA_TYPE"))));
  column.set_column_type(
      absl::AsciiStrToLower(std::string(rs.getString("COLUMN_TYPE"))));
  column.set_nullable(std::string(rs.getString("IS_NULLABLE")) == "YES");
  if (!rs.isNull("COLUMN_DEFAULT")) {
    column.set_has_default(true);
    *column.mutable_default_value() =
        ParseDefault(std::string(rs.getString("COLUMN_DEFAULT")));
  } else if (column.nullable()) {
    column.set_has_default(true);
    column.mutable_default_value()->set_is_null(true);
  }
  const std::string extra =
      absl::AsciiStrToLower(std::string(rs.getString("EXTRA")));
  column.set_generated(absl::StrContains(extra, "generated"));
  column.set_read_only(column.generated());
  if (!rs.isNull("CHARACTER_MAXIMUM_LENGTH")) {
    column.set_max_chars(rs.getUInt64("CHARACTER_MAXIMUM_LENGTH"));
  }
  if (!rs.isNull("MAXLEN")) column.set_max_bytes_per_char(rs.getUInt("MAXLEN"));
  if (!rs.isNull("CHARACTER_OCTET_LENGTH")) {
    column.set_max_bytes(rs.getUInt64("CHARACTER_OCTET_LENGTH"));
  }
  if (!rs.isNull("NUMERIC_PRECISION")) {
    column.set_numeric_precision(rs.getUInt("NUMERIC_PRECISION"));
  }
  if (!rs.isNull("NUMERIC_SCALE")) {
    column.set_numeric_scale(rs.getUInt("NUMERIC_SCALE"));
  }
  column.set_is_unsigned(absl::StrContains(column.column_type(), "unsigned"));
  if (column.data_type() == "enum" || column.data_type() == "set") {
    for (std::string& member : ParseMembers(column.column_type())) {
      column.add_enum_values(std::move(member));
    }
  }
  return column;
}

bool IsLongText(const v1::Column& column) {
  return column.data_type() == "longtext";
}

// MariaDB stores JSON as LONGTEXT with CHECK (json_valid(`col`)): report such
// columns as "json" so that values are validated as JSON. (MySQL reports
// json itself and has no TABLE_NAME in CHECK_CONSTRAINTS: nothing to do.)
void MarkJsonColumns(PooledConnection& conn, v1::TableSchema& schema) {
  if (std::none_of(schema.columns().begin(), schema.columns().end(),
                   IsLongText)) {
    return;
  }
  std::unique_ptr<sql::ResultSet> rs;
  try {
    rs = Query(conn,
               absl::StrCat("SELECT CHECK_CLAUSE FROM "
                            "information_schema.CHECK_CONSTRAINTS WHERE "
                            "CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ",
                            Literal(conn, schema.table())));
  } catch (const sql::SQLException&) {
    return;
  }
  absl::flat_hash_set<std::string> clauses;
  while (rs->next()) clauses.insert(std::string(rs->getString(1)));
  for (v1::Column& column : *schema.mutable_columns()) {
    if (IsLongText(column) &&
        clauses.contains(
            absl::StrCat("json_valid(", QuoteIdentifier(column.name()), ")"))) {
      column.set_data_type("json");
    }
  }
}

void MarkReadOnly(const std::vector<std::string>& names,
                  v1::TableSchema& schema) {
  for (v1::Column& column : *schema.mutable_columns()) {
    for (const std::string& name : names) {
      // Column names are case-insensitive in MySQL.
      if (absl::EqualsIgnoreCase(name, column.name()))
        column.set_read_only(true);
    }
  }
}

// The key column holds UUIDs as text and identifies one row: the upserts
// (INSERT ... ON DUPLICATE KEY UPDATE) rely on it being unique on its own.
absl::Status CheckKeyColumn(const v1::TableSchema& schema,
                            const std::string& column_key,
                            int primary_columns) {
  const v1::Column* key = FindColumn(schema, schema.key_column());
  const std::string where = absl::StrCat(
      "table `", schema.table(), "`: key column `", schema.key_column(), "`");
  if (key == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "table `", schema.table(), "` has no key column `", schema.key_column(),
        "` (set key_column to its UUID column)"));
  }
  const std::string& type = key->data_type();
  if (type != "uuid" &&
      ((type != "char" && type != "varchar") || key->max_chars() < 36)) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " is ", key->column_type(),
                     "; it must hold UUIDs as text (CHAR(36))"));
  }
  // The upserts' key guard (mysql_version_store.cc) relies on it too.
  if (key->nullable()) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " allows NULL; it must be NOT NULL"));
  }
  if (!(column_key == "PRI" && primary_columns == 1) && column_key != "UNI") {
    return absl::FailedPreconditionError(absl::StrCat(
        where, " must be the PRIMARY KEY or have a UNIQUE index of its own"));
  }
  return absl::OkStatus();
}

}  // namespace

MysqlVersionStore::MysqlVersionStore(MysqlPool& pool, const Clock& clock,
                                     std::vector<TableRegistration> tables)
    : pool_(pool),
      clock_(clock),
      schemas_([this](const std::string& table) { return Discover(table); },
               clock, absl::Seconds(5)) {
  absl::MutexLock lock(&tables_mu_);
  for (TableRegistration& registration : tables) {
    std::string name = registration.table;
    tables_.emplace(std::move(name), std::move(registration));
  }
}

absl::Status MysqlVersionStore::Migrate() {
  std::vector<TableRegistration> tables;
  {
    absl::MutexLock lock(&tables_mu_);
    for (const auto& [name, registration] : tables_) {
      tables.push_back(registration);
    }
  }
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    std::unique_ptr<sql::Statement> stmt(conn->createStatement());
    for (const char* ddl : kMigrations) stmt->execute(ddl);
    MigrateIndexes(conn);
    for (const TableRegistration& registration : tables) {
      stmt->execute(absl::StrCat(
          "INSERT IGNORE INTO `_sheetsync_tables` (tbl, key_column, "
          "registered_at_us) VALUES (",
          Literal(conn, registration.table), ",",
          Literal(conn, registration.key_column), ",", clock_.NowMicros(),
          ")"));
    }
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "migrating the sync metadata tables");
  }
  for (const TableRegistration& registration : tables) {
    absl::StatusOr<v1::TableSchema> schema = Discover(registration.table);
    if (!schema.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("registered table `", registration.table,
                       "`: ", schema.status().message()));
    }
  }
  return absl::OkStatus();
}

absl::Status MysqlVersionStore::Ping(MysqlPool& pool) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool.Acquire(absl::Seconds(2)));
  try {
    std::unique_ptr<sql::Statement> stmt(conn->createStatement());
    std::unique_ptr<sql::ResultSet> rs(
        stmt->executeQuery("SELECT @@global.read_only"));
    if (rs->next() && rs->getInt(1) != 0) {
      return absl::UnavailableError(
          "MySQL is read-only (read_only = ON): it takes no writes");
    }
    return absl::OkStatus();
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "pinging MySQL");
  }
}

absl::StatusOr<v1::TableSchema> MysqlVersionStore::DescribeTable(
    const std::string& table) {
  // Callers describe a table when their cached schema may be stale (e.g. a
  // change names a column they do not know): always read it afresh, which
  // also refreshes this writer's cache for Apply and the feed.
  schemas_.Invalidate(table);
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(table));
  return *schema;
}

absl::StatusOr<std::shared_ptr<const v1::TableSchema>>
MysqlVersionStore::CurrentSchema(const std::string& table) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(table));
  bool same = true;
  {
    ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
    try {
      // Only the result's metadata: no row is read.
      auto rs = Query(conn, absl::StrCat("SELECT * FROM ",
                                         QuoteIdentifier(table), " LIMIT 0"));
      sql::ResultSetMetaData* meta = rs->getMetaData();
      same = meta->getColumnCount() ==
             static_cast<unsigned int>(schema->columns_size());
      for (int i = 0; same && i < schema->columns_size(); ++i) {
        same = std::string(meta->getColumnName(i + 1)) ==
               schema->columns(i).name();
      }
    } catch (const sql::SQLException& e) {
      return MysqlErrorStatus(e, conn, "reading the table's columns");
    }
  }
  if (same) return schema;
  schemas_.Invalidate(table);
  return schemas_.Get(table);
}

absl::StatusOr<v1::TableSchema> MysqlVersionStore::Inspect(
    const TableRegistration& registration) {
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    return ReadSchema(conn, registration);
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the table's columns");
  }
}

absl::StatusOr<v1::TableSchema> MysqlVersionStore::Discover(
    const std::string& table) {
  std::optional<TableRegistration> registration = Registration(table);
  if (!registration.has_value() && unknown_table_hook_ &&
      unknown_table_hook_(table)) {
    registration = Registration(table);  // registered by another replica
  }
  if (!registration.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("table `", table, "` is not registered for sync"));
  }
  ASSIGN_OR_RETURN(PooledConnection conn, pool_.Acquire(kAcquireWait));
  try {
    absl::StatusOr<v1::TableSchema> schema = ReadSchema(conn, *registration);
    if (schema.ok()) {
      const std::optional<CaptureRecord> record =
          ReadCaptureRecord(conn, table);
      if (record.has_value() && CaptureInPlace(conn, *schema, *record)) {
        return schema;
      }
    }
    if (!schema.ok() && !absl::IsFailedPrecondition(schema.status())) {
      return schema.status();
    }
    // The triggers change (CaptureDdlWait: not too often), one replica at a
    // time, for the columns as they are once it holds the lock; a replica
    // that finds it held leaves the work to the holder. The schema is
    // answered either way: Apply and the feed do not need the triggers.
    const std::optional<int> ddl_wait = CaptureDdlWait(table);
    if (!ddl_wait.has_value()) return schema;
    NamedLock lock(conn, CaptureLockName(table), /*timeout_s=*/0);
    if (!lock.held()) return schema;
    schema = ReadSchema(conn, *registration);
    absl::Status changed;
    if (absl::IsFailedPrecondition(schema.status())) {
      // It cannot sync (its key column was renamed, dropped, lost its UNIQUE
      // index): triggers naming a column that is gone would fail every SQL
      // write to the table, so they go until it can sync again.
      changed = SuspendCapture(conn, table, *ddl_wait);
    } else if (schema.ok()) {
      changed = EnsureCapture(conn, *schema, *ddl_wait);
    }
    CaptureDdlDone(table, changed);
    if (absl::IsNotFound(changed)) return changed;  // unregistered meanwhile
    if (!changed.ok()) {
      LogWarning("changing the capture triggers failed; trying again later",
                 {{"table", table}, {"status", changed.ToString()}});
    }
    return schema;
  } catch (const sql::SQLException& e) {
    return MysqlErrorStatus(e, conn, "reading the table's columns");
  }
}

absl::StatusOr<v1::TableSchema> MysqlVersionStore::ReadSchema(
    PooledConnection& conn, const TableRegistration& registration) {
  v1::TableSchema schema;
  schema.set_table(registration.table);
  schema.set_key_column(registration.key_column);
  auto rs = Query(
      conn,
      absl::StrCat(
          "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, "
          "COLUMN_DEFAULT, EXTRA, CHARACTER_MAXIMUM_LENGTH, "
          "CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
          "COLUMN_KEY, COLLATION_NAME, CHARACTER_SET_NAME, (SELECT s.MAXLEN "
          "FROM "
          "information_schema.CHARACTER_SETS s WHERE s.CHARACTER_SET_NAME = "
          "COLUMNS.CHARACTER_SET_NAME) AS MAXLEN "
          "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
          "AND TABLE_NAME = ",
          Literal(conn, registration.table), " ORDER BY ORDINAL_POSITION"));
  std::string key_column_key, key_charset, key_collation;
  int primary_columns = 0;
  while (rs->next()) {
    *schema.add_columns() = ReadColumn(*rs);
    const std::string column_key = std::string(rs->getString("COLUMN_KEY"));
    if (column_key == "PRI") ++primary_columns;
    if (schema.columns().rbegin()->name() == registration.key_column) {
      key_column_key = column_key;
      if (!rs->isNull("COLLATION_NAME")) {
        key_charset = std::string(rs->getString("CHARACTER_SET_NAME"));
        key_collation = std::string(rs->getString("COLLATION_NAME"));
      }
    }
  }
  schema.set_key_case_sensitive(
      TellsCaseApart(conn, key_charset, key_collation));
  if (schema.columns().empty()) {
    return absl::NotFoundError(absl::StrCat(
        "table `", registration.table, "` does not exist in the database"));
  }
  MarkJsonColumns(conn, schema);
  MarkReadOnly(registration.read_only_columns, schema);
  RETURN_IF_ERROR(CheckKeyColumn(schema, key_column_key, primary_columns));
  return schema;
}

}  // namespace sheetsync
