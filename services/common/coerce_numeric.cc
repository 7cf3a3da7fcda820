// Coercion of BOOLEAN, integer, DECIMAL, FLOAT, DOUBLE and YEAR values.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/coerce_internal.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

using google::protobuf::Value;

// 2^53 - 1: past it a double no longer tells neighbouring integers apart
// (9007199254740993 parses as 9007199254740992), so the number the client
// sent may not be the one received. I-JSON's (RFC 7493) interoperable range.
constexpr double kMaxSafeInteger = 9007199254740991.0;

struct Integer {
  bool negative = false;
  uint64_t magnitude = 0;
};

struct Decimal {
  bool negative = false;
  std::string int_digits;   // no leading zeros; "" for zero
  std::string frac_digits;  // as written
};

// Splits "[+-]digits" (no other characters); false when it is not one.
bool SplitSign(absl::string_view s, bool* negative, absl::string_view* rest) {
  *negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  *rest = s;
  return !s.empty();
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

absl::string_view StripLeadingZeros(absl::string_view s) {
  while (!s.empty() && s[0] == '0') s.remove_prefix(1);
  return s;
}

absl::StatusOr<Integer> IntegerFromValue(const Target& t, const Value& v) {
  Integer n;
  if (v.kind_case() == Value::kNumberValue) {
    const double d = v.number_value();
    if (std::trunc(d) != d) return ValueError("type_mismatch", t, v);
    if (std::fabs(d) > kMaxSafeInteger) {
      return ValueError("out_of_range", t, v,
                        "JSON numbers from 2^53 on may have lost digits; send "
                        "large integers as strings");
    }
    n.negative = d < 0;
    n.magnitude = static_cast<uint64_t>(std::fabs(d));
  } else if (v.kind_case() == Value::kStringValue) {
    absl::string_view digits;
    if (!SplitSign(v.string_value(), &n.negative, &digits) ||
        !AllDigits(digits)) {
      return ValueError("type_mismatch", t, v,
                        "an integer string holds only an optional sign and "
                        "digits");
    }
    digits = StripLeadingZeros(digits);
    if (!digits.empty() && !absl::SimpleAtoi(digits, &n.magnitude)) {
      return ValueError("out_of_range", t, v);
    }
  } else {
    return ValueError("type_mismatch", t, v);
  }
  if (n.magnitude == 0) n.negative = false;
  return n;
}

absl::StatusOr<std::string> CoerceInteger(const Target& t, const Value& v) {
  ASSIGN_OR_RETURN(const Integer n, IntegerFromValue(t, v));
  const ColumnType& type = t.type;
  if (n.negative ? n.magnitude > type.max_negative
                 : n.magnitude > type.max_positive) {
    return ValueError(
        "out_of_range", t, v,
        absl::StrCat("the range is ", type.max_negative == 0 ? "" : "-",
                     type.max_negative, " to ", type.max_positive));
  }
  std::string text = absl::StrCat(n.magnitude);
  if (type.zerofill_width > static_cast<int>(text.size())) {
    text.insert(0, type.zerofill_width - text.size(), '0');
  }
  return n.negative ? absl::StrCat("-", text) : text;
}

// JSON true/false, or what fits a TINYINT; the contract lets a string into
// an integer column only as a sign and digits, so "true" is not 1.
absl::StatusOr<std::string> CoerceBool(const Target& t, const Value& v) {
  if (v.kind_case() == Value::kBoolValue) return v.bool_value() ? "1" : "0";
  return CoerceInteger(t, v);
}

// Parses "[+-](digits[.digits]|.digits)".
bool ParseDecimal(absl::string_view s, Decimal* out) {
  absl::string_view body;
  if (!SplitSign(s, &out->negative, &body)) return false;
  const size_t dot = body.find('.');
  absl::string_view int_part = body.substr(0, dot);
  absl::string_view frac_part =
      dot == absl::string_view::npos ? "" : body.substr(dot + 1);
  if (!AllDigits(int_part) || !AllDigits(frac_part) ||
      (int_part.empty() && frac_part.empty())) {
    return false;
  }
  out->int_digits = std::string(StripLeadingZeros(int_part));
  out->frac_digits = std::string(frac_part);
  return true;
}

// Returns the shortest decimal text that reads back as `d`, without exponent.
std::string ShortestFixed(double d) {
  char buf[512];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

absl::StatusOr<std::string> CoerceDecimal(const Target& t, const Value& v) {
  Decimal dec;
  const bool parsed = (v.kind_case() == Value::kNumberValue &&
                       ParseDecimal(ShortestFixed(v.number_value()), &dec)) ||
                      (v.kind_case() == Value::kStringValue &&
                       ParseDecimal(v.string_value(), &dec));
  if (!parsed) {
    return ValueError("type_mismatch", t, v,
                      "a decimal is digits with an optional sign and point");
  }
  const size_t scale = t.type.scale;
  if (dec.frac_digits.size() > scale &&
      dec.frac_digits.find_first_not_of('0', scale) != std::string::npos) {
    return ValueError("out_of_range", t, v,
                      absl::StrCat("at most ", scale, " decimal places"));
  }
  dec.frac_digits.resize(scale, '0');
  if (dec.int_digits.size() + scale > static_cast<size_t>(t.type.precision)) {
    return ValueError("out_of_range", t, v,
                      absl::StrCat("at most ", t.type.precision - scale,
                                   " digits before the decimal point"));
  }
  const bool zero = dec.int_digits.empty() &&
                    dec.frac_digits.find_first_not_of('0') == std::string::npos;
  if (dec.negative && !zero && t.type.is_unsigned) {
    return ValueError("out_of_range", t, v, "the column is unsigned");
  }
  return absl::StrCat(dec.negative && !zero ? "-" : "",
                      dec.int_digits.empty() ? "0" : dec.int_digits,
                      scale == 0 ? "" : ".", dec.frac_digits);
}

// Parses a JSON-like number string: "[+-](digits[.digits]|.digits)[e[+-]n]".
bool ParseFloating(absl::string_view s, double* out, bool* overflow) {
  const size_t e = s.find_first_of("eE");
  Decimal mantissa;
  if (!ParseDecimal(s.substr(0, e), &mantissa)) return false;
  if (e != absl::string_view::npos) {
    bool exp_negative;
    absl::string_view exp_digits;
    if (!SplitSign(s.substr(e + 1), &exp_negative, &exp_digits) ||
        !AllDigits(exp_digits)) {
      return false;
    }
  }
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const std::from_chars_result r =
      std::from_chars(s.data(), s.data() + s.size(), *out);
  *overflow = r.ec == std::errc::result_out_of_range;
  return r.ptr == s.data() + s.size() || *overflow;
}

absl::StatusOr<std::string> CoerceFloating(const Target& t, const Value& v) {
  double d = 0;
  bool overflow = false;
  if (v.kind_case() == Value::kNumberValue) {
    d = v.number_value();
  } else if (v.kind_case() != Value::kStringValue ||
             !ParseFloating(v.string_value(), &d, &overflow)) {
    return ValueError("type_mismatch", t, v);
  }
  const bool is_float = t.type.kind == Kind::kFloat;
  const float f = static_cast<float>(d);
  if (overflow || (is_float && (std::isinf(f) || (f == 0 && d != 0)))) {
    return ValueError("out_of_range", t, v);
  }
  if (d < 0 && t.type.is_unsigned) {
    return ValueError("out_of_range", t, v, "the column is unsigned");
  }
  if (d == 0) return std::string("0");  // also for -0
  return is_float ? FormatMysqlFloat(f) : FormatMysqlDouble(d);
}

absl::StatusOr<std::string> CoerceYear(const Target& t, const Value& v) {
  int64_t year = -1;
  if (v.kind_case() == Value::kNumberValue) {
    const double d = v.number_value();
    if (std::trunc(d) != d) return ValueError("type_mismatch", t, v);
    if (std::fabs(d) < 1e6) year = static_cast<int64_t>(d);
  } else if (v.kind_case() != Value::kStringValue ||
             v.string_value().size() != 4 || !AllDigits(v.string_value()) ||
             !absl::SimpleAtoi(v.string_value(), &year)) {
    return ValueError("type_mismatch", t, v, "a year has 4 digits");
  }
  if (year != 0 && (year < 1901 || year > 2155)) {
    return ValueError("out_of_range", t, v, "YEAR holds 1901 to 2155, or 0");
  }
  return absl::StrFormat("%04d", year);
}

}  // namespace

absl::StatusOr<std::string> CoerceNumeric(const Target& t, const Value& v) {
  switch (t.type.kind) {
    case Kind::kBool:
      return CoerceBool(t, v);
    case Kind::kDecimal:
      return CoerceDecimal(t, v);
    case Kind::kFloat:
    case Kind::kDouble:
      return CoerceFloating(t, v);
    case Kind::kYear:
      return CoerceYear(t, v);
    default:
      return CoerceInteger(t, v);
  }
}

}  // namespace coerce_internal
}  // namespace sheetsync
