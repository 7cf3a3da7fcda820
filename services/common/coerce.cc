#include "services/common/coerce.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/coerce_internal.h"
#include "services/common/reject.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace {

using coerce_internal::ColumnType;
using coerce_internal::Kind;
using coerce_internal::Target;
using google::protobuf::Value;

v1::SqlValue Null() {
  v1::SqlValue out;
  out.set_is_null(true);
  return out;
}

v1::SqlValue Text(std::string text) {
  v1::SqlValue out;
  out.set_text(std::move(text));
  return out;
}

// Returns the canonical text of a non-null value (no read-only or NULL
// checks: also used to canonicalise stored text).
absl::StatusOr<std::string> CoerceNonNull(const Target& t, const Value& v) {
  if (v.kind_case() == Value::kNumberValue &&
      !std::isfinite(v.number_value())) {
    // From JSON only a number beyond a double (1e400) is infinite, and NaN
    // stands for one a double cannot hold exactly (InexactJsonNumber).
    return coerce_internal::ValueError(
        "out_of_range", t, v,
        std::isnan(v.number_value())
            ? "more digits than a double holds exactly; send it as a string"
            : "a number beyond a double's range");
  }
  switch (t.type.kind) {
    case Kind::kBool:
    case Kind::kInt:
    case Kind::kDecimal:
    case Kind::kFloat:
    case Kind::kDouble:
    case Kind::kYear:
      return coerce_internal::CoerceNumeric(t, v);
    case Kind::kDate:
    case Kind::kDateTime:
    case Kind::kTimestamp:
    case Kind::kTime:
      return coerce_internal::CoerceTemporal(t, v);
    case Kind::kJson:
      return coerce_internal::CoerceJson(t, v);
    case Kind::kUnsupported:
      return coerce_internal::ValueError(
          "type_mismatch", t, v, "sheetsync cannot write this column type");
    default:
      return coerce_internal::CoerceString(t, v);
  }
}

// Returns the canonical form of stored `text`, when it parses.
absl::StatusOr<std::string> Canonical(const v1::Column& col,
                                      const ColumnType& type,
                                      const std::string& text) {
  Value v;
  v.set_string_value(text);
  return CoerceNonNull(Target{col, type}, v);
}

// Integers: a number within ±(2^53 - 1), where a double (and a JavaScript
// number) tells every integer apart; else a string.
Value IntegerToJson(absl::string_view text) {
  Value v;
  int64_t n;
  constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
  if (absl::SimpleAtoi(text, &n) && n >= -kMaxSafe && n <= kMaxSafe) {
    v.set_number_value(static_cast<double>(n));
  } else {
    v.set_string_value(std::string(text));
  }
  return v;
}

Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}

}  // namespace

absl::StatusOr<v1::SqlValue> CoerceToColumn(const v1::Column& col,
                                            const Value& value) {
  const ColumnType type = coerce_internal::ClassifyColumn(col);
  const Target t{col, type};
  if (col.read_only() || col.generated()) {
    return Reject("read_only_column",
                  absl::StrCat("column `", col.name(),
                               "` is read-only (generated or excluded by "
                               "configuration); leave it out of the change"));
  }
  const bool is_empty_string =
      value.kind_case() == Value::kStringValue && value.string_value().empty();
  const bool is_null = value.kind_case() == Value::kNullValue ||
                       value.kind_case() == Value::KIND_NOT_SET ||
                       (is_empty_string && !CanHoldEmptyString(type));
  if (!is_null) {
    ASSIGN_OR_RETURN(std::string text, CoerceNonNull(t, value));
    return Text(std::move(text));
  }
  if (col.nullable()) return Null();
  const std::string got =
      is_empty_string ? absl::StrCat("\"\" (an empty cell means NULL in a ",
                                     type.label, " column)")
                      : "null";
  return Reject("null_not_allowed", absl::StrCat("column `", col.name(),
                                                 "` is NOT NULL; got ", got));
}

Value SqlToJson(const v1::Column& col, const v1::SqlValue& value) {
  Value out;
  if (value.is_null()) {
    out.set_null_value(google::protobuf::NULL_VALUE);
    return out;
  }
  const ColumnType type = coerce_internal::ClassifyColumn(col);
  const absl::StatusOr<std::string> canonical =
      Canonical(col, type, value.text());
  const std::string& text = canonical.ok() ? *canonical : value.text();
  switch (type.kind) {
    case Kind::kBool:
      if (text == "0" || text == "1") {
        out.set_bool_value(text == "1");
        return out;
      }
      return IntegerToJson(text);
    case Kind::kInt:
    case Kind::kYear:
      return IntegerToJson(text);
    case Kind::kFloat:
    case Kind::kDouble: {
      double d;
      if (!absl::SimpleAtod(text, &d) || !std::isfinite(d)) {
        return StringValue(text);
      }
      out.set_number_value(d);
      return out;
    }
    case Kind::kJson:
      return coerce_internal::JsonColumnToValue(text);
    default:
      return coerce_internal::BytesToValue(text);
  }
}

bool SqlEquals(const v1::Column& col, const v1::SqlValue& a,
               const v1::SqlValue& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null();
  if (a.text() == b.text()) return true;
  const ColumnType type = coerce_internal::ClassifyColumn(col);
  const absl::StatusOr<std::string> ca = Canonical(col, type, a.text());
  const absl::StatusOr<std::string> cb = Canonical(col, type, b.text());
  return ca.ok() && cb.ok() && *ca == *cb;
}

v1::SqlValue ImplicitDefault(const v1::Column& col) {
  if (col.nullable()) return Null();
  const ColumnType type = coerce_internal::ClassifyColumn(col);
  const std::string fraction =
      type.fsp == 0 ? "" : absl::StrCat(".", std::string(type.fsp, '0'));
  switch (type.kind) {
    case Kind::kBool:
    case Kind::kInt:
      return Text(std::string(std::max(type.zerofill_width, 1), '0'));
    case Kind::kDecimal:
      return Text(type.scale == 0
                      ? "0"
                      : absl::StrCat("0.", std::string(type.scale, '0')));
    case Kind::kFloat:
    case Kind::kDouble:
      return Text("0");
    case Kind::kYear:
      return Text("0000");
    case Kind::kDate:
      return Text("1970-01-01");
    case Kind::kDateTime:
      return Text(absl::StrCat("1970-01-01 00:00:00", fraction));
    case Kind::kTimestamp:
      return Text(absl::StrCat("1970-01-01 00:00:01", fraction));
    case Kind::kTime:
      return Text(absl::StrCat("00:00:00", fraction));
    case Kind::kBinary:
      return Text(std::string(type.max_length, '\0'));
    case Kind::kEnum:
      return Text(type.members.empty() ? "" : type.members.front());
    case Kind::kJson:
      return Text("null");
    case Kind::kUuid:
      return Text("00000000-0000-0000-0000-000000000000");
    default:
      return Text("");
  }
}

}  // namespace sheetsync
