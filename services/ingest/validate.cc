#include "services/ingest/validate.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/common/coerce.h"
#include "services/common/ids.h"
#include "services/common/reject.h"
#include "services/common/table_schema.h"
#include "services/common/status_macros.h"
#include "services/common/time_format.h"

namespace sheetsync {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

const Value* Field(const Struct& raw, const char* name) {
  auto it = raw.fields().find(name);
  return it == raw.fields().end() ? nullptr : &it->second;
}

absl::StatusOr<const v1::Column*> WritableColumn(const v1::TableSchema& schema,
                                                 const std::string& name) {
  if (name == schema.key_column()) {
    return Reject("key_column",
                  absl::StrCat("column `", name,
                               "` is the row key; send it as row_id, not as a cell"));
  }
  const v1::Column* column = FindColumn(schema, name);
  if (column == nullptr) {
    return Reject("unknown_column",
                  absl::StrCat("table `", schema.table(), "` has no column `",
                               name, "`"));
  }
  return column;
}

// The editor's previous value, in canonical form when it fits the column
// and as sent otherwise (it only ever decides conflict counting).
v1::SqlValue BaseValue(const v1::Column& column, const Value& value) {
  absl::StatusOr<v1::SqlValue> coerced = CoerceToColumn(column, value);
  if (coerced.ok()) return *std::move(coerced);
  v1::SqlValue raw;
  switch (value.kind_case()) {
    case Value::kStringValue:
      raw.set_text(value.string_value());
      break;
    case Value::kBoolValue:
      raw.set_text(value.bool_value() ? "true" : "false");
      break;
    case Value::kNumberValue:
      raw.set_text(absl::StrCat(value.number_value()));
      break;
    default:
      raw.set_is_null(true);
  }
  return raw;
}

absl::Status ValidateCells(const Struct& raw, const v1::TableSchema& schema,
                           v1::Change& change) {
  const Value* cells = Field(raw, "cells");
  if (cells == nullptr || cells->kind_case() != Value::kStructValue ||
      cells->struct_value().fields().empty()) {
    return Reject("missing_cells",
                  "a change needs \"cells\": an object with at least one "
                  "column, or \"deleted\": true");
  }
  for (const auto& [name, value] : cells->struct_value().fields()) {
    ASSIGN_OR_RETURN(const v1::Column* column, WritableColumn(schema, name));
    ASSIGN_OR_RETURN((*change.mutable_cells())[name], CoerceToColumn(*column, value));
  }
  const Value* base = Field(raw, "base");
  if (base == nullptr || base->kind_case() == Value::kNullValue) {
    return absl::OkStatus();
  }
  if (base->kind_case() != Value::kStructValue) {
    return Reject("invalid_change",
                  "\"base\" must be an object of the values the editor saw");
  }
  for (const auto& [name, value] : base->struct_value().fields()) {
    const v1::Column* column = FindColumn(schema, name);
    if (column == nullptr || !change.cells().contains(name)) continue;
    (*change.mutable_base())[name] = BaseValue(*column, value);
  }
  return absl::OkStatus();
}

}  // namespace

std::string RawString(const Struct& raw, const char* field) {
  const Value* value = Field(raw, field);
  if (value == nullptr || value->kind_case() != Value::kStringValue) return "";
  return value->string_value();
}

bool NamesUnknownColumn(const Struct& raw, const v1::TableSchema& schema) {
  const Value* cells = Field(raw, "cells");
  if (cells == nullptr || cells->kind_case() != Value::kStructValue) return false;
  for (const auto& [name, value] : cells->struct_value().fields()) {
    if (FindColumn(schema, name) == nullptr) return true;
  }
  return false;
}

absl::StatusOr<v1::Change> ValidateChange(const Struct& raw,
                                          const v1::TableSchema& schema,
                                          const ValidationLimits& limits) {
  v1::Change change;
  RETURN_IF_ERROR(ValidateChangeInto(raw, schema, limits, change));
  return change;
}

absl::Status ValidateChangeInto(const Struct& raw, const v1::TableSchema& schema,
                                const ValidationLimits& limits, v1::Change& change) {
  const Value* event_id = Field(raw, "event_id");
  if (event_id == nullptr || event_id->kind_case() != Value::kStringValue) {
    return Reject("invalid_event_id",
                  "\"event_id\" must be a string of 1-128 printable ASCII "
                  "characters");
  }
  RETURN_IF_ERROR(ValidateEventId(event_id->string_value()));
  change.set_event_id(event_id->string_value());

  const Value* row_id = Field(raw, "row_id");
  if (row_id == nullptr || row_id->kind_case() != Value::kStringValue) {
    return Reject("invalid_row_id", "\"row_id\" must be a UUID string");
  }
  ASSIGN_OR_RETURN(*change.mutable_row_id(), NormalizeRowId(row_id->string_value()));

  const Value* updated_at = Field(raw, "updated_at");
  if (updated_at == nullptr) {
    return Reject("invalid_timestamp",
                  "\"updated_at\" is required: RFC 3339 or epoch milliseconds");
  }
  ASSIGN_OR_RETURN(int64_t ts, ParseTimestamp(*updated_at));
  if (ts > limits.now_us + limits.max_future_skew_us) {
    return Reject("future_timestamp",
                  absl::StrCat("\"updated_at\" ", FormatRfc3339Micros(ts),
                               " is more than ", limits.max_future_skew_us / 1000000,
                               " s ahead of the server clock; check the "
                               "client's clock"));
  }
  change.set_updated_at_us(ts);

  const Value* deleted = Field(raw, "deleted");
  if (deleted != nullptr && deleted->kind_case() != Value::kBoolValue &&
      deleted->kind_case() != Value::kNullValue) {
    return Reject("invalid_change", "\"deleted\" must be true or false");
  }
  if (deleted != nullptr && deleted->kind_case() == Value::kBoolValue &&
      deleted->bool_value()) {
    const Value* cells = Field(raw, "cells");
    if (cells != nullptr && cells->kind_case() != Value::kNullValue &&
        !(cells->kind_case() == Value::kStructValue &&
          cells->struct_value().fields().empty())) {
      return Reject("invalid_change",
                    "a delete (\"deleted\": true) carries no \"cells\"");
    }
    change.set_deleted(true);
    return absl::OkStatus();
  }
  return ValidateCells(raw, schema, change);
}

}  // namespace sheetsync
