// Number formatting as MySQL prints it, UTF-8 checks, the JSON rendering of
// raw bytes and the error messages of coercion.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/coerce_internal.h"
#include "services/common/reject.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

// MySQL (my_gcvt, with the wide buffer Field_double/Field_float use) prints
// the 'f' format unless the decimal point is far from the digits (DBL_DIG).
constexpr int kDblDig = 15;

// Lays out `digits` (significant, no trailing zeros) with the decimal point
// after `decpt` of them, as my_gcvt does: "0.001", "123.4", "1e15", "1.5e-7".
std::string MysqlLayout(bool negative, absl::string_view digits, int decpt) {
  std::string out = negative ? "-" : "";
  const int len = static_cast<int>(digits.size());
  if (decpt >= -kDblDig + 1 && (decpt <= kDblDig || len > decpt)) {
    if (decpt <= 0) {
      absl::StrAppend(&out, "0.", std::string(-decpt, '0'), digits);
    } else if (decpt < len) {
      absl::StrAppend(&out, digits.substr(0, decpt), ".", digits.substr(decpt));
    } else {
      absl::StrAppend(&out, digits, std::string(decpt - len, '0'));
    }
    return out;
  }
  out.push_back(digits[0]);
  if (len > 1) absl::StrAppend(&out, ".", digits.substr(1));
  absl::StrAppend(&out, "e", decpt - 1);
  return out;
}

// Lays out scientific text "[-]d[.ddd]e[+-]xx" the MySQL way.
std::string LayoutScientific(absl::string_view sci) {
  const bool negative = !sci.empty() && sci[0] == '-';
  if (negative) sci.remove_prefix(1);
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int exponent = 0;
  if (!absl::SimpleAtoi(sci.substr(e + 1), &exponent)) exponent = 0;
  return MysqlLayout(negative, digits, exponent + 1);
}

}  // namespace

std::string FormatMysqlDouble(double d) {
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  return LayoutScientific(absl::string_view(buf, r.ptr - buf));
}

std::string FormatMysqlFloat(float f) {
  // dtoa(mode 4, FLT_DIG digits) of the float's double value: correctly
  // rounded to 6 significant digits, trailing zeros dropped.
  char buf[64];
  const std::to_chars_result r =
      std::to_chars(buf, buf + sizeof(buf), static_cast<double>(f),
                    std::chars_format::scientific, 5);
  return LayoutScientific(absl::string_view(buf, r.ptr - buf));
}

std::string FormatJsonNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == 0) return "0";
  if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(d));
  }
  return FormatMysqlDouble(d);
}

google::protobuf::Value BytesToValue(absl::string_view bytes) {
  google::protobuf::Value v;
  if (IsValidUtf8(bytes)) {
    v.set_string_value(std::string(bytes));
  } else {
    (*v.mutable_struct_value()->mutable_fields())["base64"].set_string_value(
        absl::Base64Escape(bytes));
  }
  return v;
}

std::string QuoteForMessage(absl::string_view s) {
  constexpr size_t kMax = 40;
  size_t cut = std::min(s.size(), kMax);
  while (cut > 0 && cut < s.size() &&
         (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;  // keep whole UTF-8 characters
  }
  const absl::string_view shown = s.substr(0, cut);
  // Messages travel in proto strings, which must be valid UTF-8.
  return absl::StrCat("\"",
                      IsValidUtf8(shown) ? absl::Utf8SafeCEscape(shown)
                                         : absl::CHexEscape(shown),
                      cut < s.size() ? "...\"" : "\"");
}

std::string ShowValue(const google::protobuf::Value& v) {
  using google::protobuf::Value;
  switch (v.kind_case()) {
    case Value::kNumberValue:
      // NaN stands for a number a double cannot hold (InexactJsonNumber).
      return std::isnan(v.number_value()) ? "a number of many digits"
                                          : FormatJsonNumber(v.number_value());
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "an array";
    case Value::kStringValue:
      return QuoteForMessage(v.string_value());
    default:
      return "null";
  }
}

absl::Status ValueError(absl::string_view code, const Target& t,
                        const google::protobuf::Value& v,
                        absl::string_view why) {
  return Reject(
      code, absl::StrCat("column `", t.col.name(), "` expects ", t.type.label,
                         "; got ", ShowValue(v), why.empty() ? "" : " (", why,
                         why.empty() ? "" : ")"));
}

}  // namespace coerce_internal
}  // namespace sheetsync
