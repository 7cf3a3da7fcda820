#include "services/writer/capture_sql.h"

#include <cstdint>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/ids.h"
#include "services/common/status_macros.h"
#include "services/writer/sql_text.h"

namespace sheetsync {
namespace {

using Quote = std::function<std::string(const std::string&)>;

// The server's time of the write, in microseconds since the epoch (UTC,
// whatever the session's time zone). UTC_TIMESTAMP(6) is the time the
// statement started, which may be long before the write (a statement that
// waited for another transaction's row lock writes after that one's
// commit); SYSDATE(6) - NOW(6) is the time since then, both in the
// session's zone.
constexpr char kNowUs[] =
    "(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) + "
    "TIMESTAMPDIFF(MICROSECOND, NOW(6), SYSDATE(6)))";

// Its version is in the triggers' signature: a writer leaves a newer
// version's triggers alone for a while (EnsureCapture).
constexpr int kTriggerVersion = 5;

uint64_t Fnv1a(absl::string_view text, uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Columns logged as the hex of their bytes: binary strings, BIT, and the
// spatial types (which have no text form: CAST(... AS CHAR) fails).
bool IsBinary(const v1::Column& column) {
  static const auto* const kBinary =
      new absl::flat_hash_set<std::string>{"binary",
                                           "varbinary",
                                           "tinyblob",
                                           "blob",
                                           "mediumblob",
                                           "longblob",
                                           "bit",
                                           "geometry",
                                           "point",
                                           "linestring",
                                           "polygon",
                                           "multipoint",
                                           "multilinestring",
                                           "multipolygon",
                                           "geometrycollection"};
  return kBinary->contains(column.data_type());
}

std::vector<const v1::Column*> Capturable(const v1::TableSchema& schema) {
  std::vector<const v1::Column*> columns;
  for (const v1::Column& column : schema.columns()) {
    if (column.name() != schema.key_column() && !column.generated()) {
      columns.push_back(&column);
    }
  }
  return columns;
}

// The text the trigger logs for a column of row `alias` (NEW or OLD).
std::string ValueExpr(const v1::Column& column, const std::string& alias) {
  const std::string ref = absl::StrCat(alias, ".", QuoteIdentifier(column.name()));
  // BIT's own HEX() drops leading zero digits (b'000000000101' is "5"); its
  // binary string has all its bytes.
  if (column.data_type() == "bit")
    return absl::StrCat("HEX(CAST(", ref, " AS BINARY))");
  if (IsBinary(column)) return absl::StrCat("HEX(", ref, ")");
  // TIMESTAMP shows in the session's zone: log the epoch instead.
  if (column.data_type() == "timestamp") {
    return absl::StrCat("CAST(UNIX_TIMESTAMP(", ref, ") AS CHAR)");
  }
  return absl::StrCat("CAST(", ref, " AS CHAR)");
}

std::string JsonOfRow(const v1::TableSchema& schema, const std::string& alias,
                      const Quote& quote) {
  std::vector<std::string> parts;
  for (const v1::Column* column : Capturable(schema)) {
    parts.push_back(quote(column->name()));
    parts.push_back(ValueExpr(*column, alias));
  }
  return absl::StrCat("JSON_OBJECT(", absl::StrJoin(parts, ","), ")");
}

// Statements that delete a row and then write the same key (REPLACE, LOAD
// DATA ... REPLACE, an UPDATE moving keys) can run both triggers in the same
// microsecond T, and the merge lets a delete win a tie: the row would end up
// deleted while MySQL holds it. So a delete notes "<table>@T" in the
// session, and an insert of that table at the same T is stamped T + 1 us,
// after the delete.
std::string DeletedHereNow(const std::string& table_literal) {
  return absl::StrCat("CONCAT(", table_literal, ", '@', ", kNowUs, ")");
}

// The key of row `alias` as the capture logs it. A key column that does not
// tell case apart takes 'ABC…' for the sheet's 'abc…': logged in lower case,
// the writer finds the edit by the sheet's id (PendingCaptureSql).
std::string LoggedKey(const v1::TableSchema& schema, const std::string& alias) {
  const std::string key =
      absl::StrCat(alias, ".", QuoteIdentifier(schema.key_column()));
  return schema.key_case_sensitive() ? key : absl::StrCat("LOWER(", key, ")");
}

std::string LogInsert(const v1::TableSchema& schema, const Quote& quote,
                      char op, const std::string& key_alias,
                      const std::string& cols, const std::string& vals) {
  const std::string table = quote(schema.table());
  std::string at = kNowUs;
  if (op == 'I') {
    at = absl::StrCat(kNowUs, " + (@sheetsync_deleted_at <=> ",
                      DeletedHereNow(table), ")");
  }
  std::string sql = absl::StrCat(
      "INSERT INTO `_sheetsync_capture` (tbl, op, row_id, captured_at_us, "
      "cols, "
      "vals) VALUES (",
      table, ",'", std::string(1, op), "',", LoggedKey(schema, key_alias), ",",
      at, ",", cols, ",", vals, ");");
  if (op == 'D') {
    absl::StrAppend(
        &sql, " SET @sheetsync_deleted_at = ", DeletedHereNow(table), ";");
  }
  return sql;
}

std::string TriggerName(const std::string& table, const char* kind,
                        const std::string& signature) {
  return absl::StrCat(CaptureTriggerPrefix(table), kind, "_", signature);
}

std::string Trigger(const v1::TableSchema& schema, const std::string& signature,
                    const char* kind, const char* event, const std::string& body) {
  return absl::StrCat(
      "CREATE TRIGGER ",
      QuoteIdentifier(TriggerName(schema.table(), kind, signature)), " AFTER ",
      event, " ON ", QuoteIdentifier(schema.table()),
      " FOR EACH ROW BEGIN IF @sheetsync_writer IS NULL THEN ", body,
      " END IF; END");
}

// Formats epoch seconds ("1764082869.123000") as the TIMESTAMP column's
// canonical UTC text.
std::string TimestampText(const v1::Column& column, const std::string& epoch) {
  double seconds = 0;
  if (!absl::SimpleAtod(epoch, &seconds)) return epoch;
  const int64_t us = static_cast<int64_t>(seconds * 1e6 + (seconds < 0 ? -0.5 : 0.5));
  const absl::Time t = absl::FromUnixMicros(us);
  std::string text = absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
  int fsp = 0;
  const size_t open = column.column_type().find('(');
  if (open != std::string::npos) fsp = column.column_type()[open + 1] - '0';
  if (fsp > 0 && fsp <= 6) {
    std::string fraction = absl::StrFormat("%06d", static_cast<int>(((us % 1000000) + 1000000) % 1000000));
    absl::StrAppend(&text, ".", fraction.substr(0, fsp));
  }
  return text;
}

}  // namespace

std::string CaptureSignature(const v1::TableSchema& schema) {
  // The version of the trigger text: bumping it makes every running engine
  // reinstall the triggers of every table.
  uint64_t hash = Fnv1a(absl::StrCat(kTriggerVersion));
  hash = Fnv1a(schema.table(), hash);
  hash = Fnv1a(schema.key_column(), hash);
  hash = Fnv1a(schema.key_case_sensitive() ? "bin" : "ci", Fnv1a("\x1d", hash));
  for (const v1::Column* column : Capturable(schema)) {
    hash = Fnv1a(column->name(), Fnv1a("\x1f", hash));
    hash = Fnv1a(column->column_type(), Fnv1a("\x1e", hash));
  }
  return absl::StrFormat("%d.%08x", kTriggerVersion,
                         static_cast<uint32_t>(hash ^ (hash >> 32)));
}

int CaptureSignatureVersion(absl::string_view signature) {
  int version = 0;
  const size_t dot = signature.find('.');
  if (dot != absl::string_view::npos) {
    return absl::SimpleAtoi(signature.substr(0, dot), &version) ? version : 0;
  }
  // Earlier writers' signatures: eight hex digits.
  const bool hex =
      signature.size() == 8 && absl::c_all_of(signature, [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c));
      });
  return hex ? 4 : 0;
}

std::string CaptureTriggerPrefix(const std::string& table) {
  const uint64_t hash = Fnv1a(table);
  return absl::StrFormat("_ss_%08x_", static_cast<uint32_t>(hash ^ (hash >> 32)));
}

std::vector<std::string> CaptureTriggerNames(const std::string& table,
                                             const std::string& signature) {
  return {TriggerName(table, "i", signature),
          TriggerName(table, "u", signature),
          TriggerName(table, "d", signature)};
}

std::vector<std::string> CaptureTriggerSql(const v1::TableSchema& schema,
                                           const std::string& signature,
                                           const Quote& quote) {
  const std::string new_row = JsonOfRow(schema, "NEW", quote);
  std::vector<std::string> changed, any_changed;
  for (const v1::Column* column : Capturable(schema)) {
    // The logged texts are compared byte for byte: under a case- and
    // accent-insensitive collation 'ada' = 'Ada' = 'adá ', yet each is a
    // different value to the sheet.
    const std::string differs = absl::StrCat(
        "NOT (CAST(", ValueExpr(*column, "OLD"), " AS BINARY) <=> CAST(",
        ValueExpr(*column, "NEW"), " AS BINARY))");
    changed.push_back(
        absl::StrCat("IF(", differs, ",", quote(column->name()), ",NULL)"));
    any_changed.push_back(differs);
  }
  if (any_changed.empty()) any_changed.push_back("FALSE");
  const std::string key = QuoteIdentifier(schema.key_column());
  const std::string update_body = absl::StrCat(
      "IF NOT (OLD.", key, " <=> NEW.", key, ") THEN ",
      LogInsert(schema, quote, 'D', "OLD", "NULL", "NULL"), " ",
      LogInsert(schema, quote, 'I', "NEW", "NULL", new_row), " ELSEIF ",
      absl::StrJoin(any_changed, " OR "), " THEN ",
      LogInsert(schema, quote, 'U', "NEW",
                absl::StrCat("JSON_ARRAY(", absl::StrJoin(changed, ","), ")"),
                new_row),
      " END IF;");
  return {
      Trigger(schema, signature, "i", "INSERT",
              LogInsert(schema, quote, 'I', "NEW", "NULL", new_row)),
      Trigger(schema, signature, "u", "UPDATE", update_body),
      Trigger(schema, signature, "d", "DELETE",
              LogInsert(schema, quote, 'D', "OLD", "NULL", "NULL")),
  };
}

std::vector<std::string> DeleteCapturedSql(absl::Span<const int64_t> ids) {
  std::vector<std::string> statements;
  statements.reserve(ids.size());
  for (const int64_t id : ids) {
    statements.push_back(
        absl::StrCat("DELETE FROM `_sheetsync_capture` WHERE id = ", id));
  }
  return statements;
}

std::string LeaseCapturedSql(absl::Span<const int64_t> ids,
                             int64_t lease_until_us) {
  return absl::StrCat(
      "UPDATE `_sheetsync_capture` FORCE INDEX (PRIMARY) SET lease_until_us = ",
      lease_until_us, " WHERE id IN (", absl::StrJoin(ids, ","), ")");
}

std::string OldestCaptureAgeSql(const std::string& tbl) {
  return absl::StrCat(
      "SELECT GREATEST(0, ", kNowUs,
      " - captured_at_us) FROM `_sheetsync_capture` WHERE tbl = ", tbl,
      " ORDER BY id LIMIT 1");
}

std::string ExpectedRowsSql(const v1::TableSchema& schema,
                            const std::string& after, int limit,
                            const Quote& quote) {
  const std::string tbl = quote(schema.table());
  return absl::StrCat(
      "SELECT r.row_id, (r.tomb_us IS NULL OR EXISTS (SELECT 1 FROM "
      "`_sheetsync_cells` c WHERE c.tbl = r.tbl AND c.row_id = r.row_id AND "
      "c.ts_us > r.tomb_us)) AND NOT EXISTS (SELECT 1 FROM "
      "`_sheetsync_capture` p WHERE p.tbl = r.tbl AND p.row_id = r.row_id) "
      "FROM `_sheetsync_rows` r WHERE r.tbl = ",
      tbl, " AND r.row_id > ", quote(after), " ORDER BY r.row_id LIMIT ",
      limit);
}

std::string MissedDeleteSql(const v1::TableSchema& schema,
                            const std::string& row_id, const Quote& quote) {
  const std::string tbl = quote(schema.table());
  const std::string id = quote(row_id);
  return absl::StrCat(
      "INSERT INTO `_sheetsync_capture` (tbl, op, row_id, captured_at_us, "
      "cols, vals) SELECT ",
      tbl, ", 'D', ", id, ", ", kNowUs,
      ", NULL, NULL FROM DUAL WHERE NOT EXISTS "
      "(SELECT 1 FROM ",
      QuoteIdentifier(schema.table()), " WHERE ",
      QuoteIdentifier(schema.key_column()), " = ", id,
      ") AND NOT EXISTS (SELECT 1 FROM `_sheetsync_capture` WHERE tbl = ", tbl,
      " AND row_id = ", id, ")");
}

std::string CaptureSnapshotSql(const v1::TableSchema& schema, int64_t at_us,
                               const Quote& quote) {
  return absl::StrCat(
      "INSERT INTO `_sheetsync_capture` (tbl, op, row_id, captured_at_us, "
      "cols, "
      "vals) SELECT ",
      quote(schema.table()), ", 'I', ", LoggedKey(schema, "t"), ", ", at_us,
      ", NULL, ", JsonOfRow(schema, "t", quote), " FROM ",
      QuoteIdentifier(schema.table()), " AS t");
}

const char* CaptureSkipReason(const absl::Status& status) {
  if (absl::IsNotFound(status)) return "unknown_column";
  if (absl::IsDataLoss(status)) return "invalid_value";
  return "invalid_row_id";
}

absl::StatusOr<v1::Change> CapturedChange(
    const v1::TableSchema& schema, int64_t capture_id, char op,
    const std::string& row_id, int64_t captured_at_us, const std::string& cols,
    const std::string& vals, bool known_only) {
  v1::Change change;
  ASSIGN_OR_RETURN(*change.mutable_row_id(),
                   RowIdOfStoredKey(row_id, schema.key_case_sensitive()));
  // Two captures of a row in one microsecond (one statement writing it
  // twice) tie on time, and the merge then prefers the greater event id:
  // the capture id is zero-padded so that the later capture is the greater.
  change.set_event_id(
      absl::StrFormat("mysql-%d-%020d", captured_at_us, capture_id));
  change.set_updated_at_us(captured_at_us);
  change.set_source(v1::MYSQL);
  if (op == 'D') {
    change.set_deleted(true);
    return change;
  }
  google::protobuf::Struct values;
  if (!google::protobuf::util::JsonStringToMessage(vals, &values).ok()) {
    return absl::DataLossError("captured values are not JSON");
  }
  google::protobuf::ListValue changed;
  if (!cols.empty() &&
      !google::protobuf::util::JsonStringToMessage(cols, &changed).ok()) {
    return absl::DataLossError("captured column list is not JSON");
  }
  // Column names are case-insensitive in MySQL: an edit logged before a
  // column was renamed in case only (email -> Email) is still of it.
  absl::flat_hash_map<std::string, const google::protobuf::Value*> logged;
  for (const auto& [name, value] : values.fields()) {
    logged[absl::AsciiStrToLower(name)] = &value;
  }
  absl::flat_hash_set<std::string> named;  // `cols`, lower-case
  for (const auto& item : changed.values()) {
    if (item.has_string_value()) {
      named.insert(absl::AsciiStrToLower(item.string_value()));
    }
  }
  absl::flat_hash_set<std::string> known;  // the schema's, lower-case
  for (const v1::Column& column : schema.columns()) {
    const std::string name = absl::AsciiStrToLower(column.name());
    known.insert(name);
    auto value = logged.find(name);
    if (value == logged.end() || (!cols.empty() && !named.contains(name))) {
      continue;
    }
    v1::SqlValue& cell = (*change.mutable_cells())[column.name()];
    if (!value->second->has_string_value()) {
      cell.set_is_null(true);
    } else if (IsBinary(column)) {
      cell.set_text(absl::HexStringToBytes(value->second->string_value()));
    } else if (column.data_type() == "timestamp") {
      cell.set_text(TimestampText(column, value->second->string_value()));
    } else {
      cell.set_text(value->second->string_value());
    }
  }
  if (change.cells().empty()) {  // columns added since `schema` was read?
    return absl::NotFoundError(
        "the captured edit names no column of the schema");
  }
  if (!known_only) {
    // A column added since `schema` was read, beside known ones: left out,
    // its edit would be lost.
    bool unknown = false;
    if (cols.empty()) {
      for (const auto& [name, value] : logged) unknown |= !known.contains(name);
    } else {
      for (const std::string& name : named) unknown |= !known.contains(name);
    }
    if (unknown) {
      return absl::NotFoundError(
          "the captured edit names a column the schema lacks");
    }
  }
  return change;
}

}  // namespace sheetsync
