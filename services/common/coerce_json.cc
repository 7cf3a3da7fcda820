// Coercion of JSON column values and their canonical JSON text.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/coerce.h"
#include "services/common/coerce_internal.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

using google::protobuf::Value;

void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

bool AppendJson(const Value& v, std::string* out);

bool AppendList(const google::protobuf::ListValue& list, std::string* out) {
  out->push_back('[');
  for (int i = 0; i < list.values_size(); ++i) {
    if (i > 0) out->append(", ");
    if (!AppendJson(list.values(i), out)) return false;
  }
  out->push_back(']');
  return true;
}

// MySQL orders object keys shorter first, then bytewise.
bool AppendObject(const google::protobuf::Struct& object, std::string* out) {
  std::vector<const std::string*> keys;
  for (const auto& [key, unused] : object.fields()) keys.push_back(&key);
  std::sort(keys.begin(), keys.end(), [](const auto* a, const auto* b) {
    return a->size() != b->size() ? a->size() < b->size() : *a < *b;
  });
  out->push_back('{');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out->append(", ");
    AppendQuoted(*keys[i], out);
    out->append(": ");
    if (!AppendJson(object.fields().at(*keys[i]), out)) return false;
  }
  out->push_back('}');
  return true;
}

// Appends `v` as canonical JSON text in MySQL's layout (", " and ": ").
// False when it holds NaN or infinity.
bool AppendJson(const Value& v, std::string* out) {
  switch (v.kind_case()) {
    case Value::kNumberValue:
      if (!std::isfinite(v.number_value())) return false;
      out->append(FormatJsonNumber(v.number_value()));
      return true;
    case Value::kStringValue:
      AppendQuoted(v.string_value(), out);
      return true;
    case Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      return true;
    case Value::kListValue:
      return AppendList(v.list_value(), out);
    case Value::kStructValue:
      return AppendObject(v.struct_value(), out);
    default:
      out->append("null");
      return true;
  }
}

// A decimal number as sign, significant digits and exponent:
// value = 0.<digits> * 10^exponent; zero has no digits.
struct Scientific {
  bool negative = false;
  std::string digits;
  int64_t exponent = 0;
  bool operator==(const Scientific& o) const {
    return negative == o.negative && digits == o.digits &&
           exponent == o.exponent;
  }
};

bool ToScientific(absl::string_view s, Scientific* out) {
  out->negative = absl::ConsumePrefix(&s, "-");
  const size_t e = s.find_first_of("eE");
  if (e != absl::string_view::npos &&
      (!absl::SimpleAtoi(s.substr(e + 1), &out->exponent) ||
       std::abs(out->exponent) > 100000)) {
    return false;
  }
  int64_t int_len = -1;
  for (char c : s.substr(0, e)) {
    if (c == '.') {
      int_len = static_cast<int64_t>(out->digits.size());
    } else if (absl::ascii_isdigit(c)) {
      out->digits.push_back(c);
    } else {
      return false;
    }
  }
  out->exponent +=
      int_len < 0 ? static_cast<int64_t>(out->digits.size()) : int_len;
  const size_t first = out->digits.find_first_not_of('0');
  if (first == std::string::npos) {
    *out = Scientific();
    return true;
  }
  out->exponent -= first;
  out->digits.erase(0, first);
  out->digits.erase(out->digits.find_last_not_of('0') + 1);
  return true;
}

// Returns whether the number token `token` reads back from a double as is.
bool IsExactNumber(absl::string_view token) {
  double d;
  const std::from_chars_result r =
      std::from_chars(token.data(), token.data() + token.size(), d);
  Scientific written, stored;
  return r.ec == std::errc() && ToScientific(token, &written) &&
         ToScientific(FormatJsonNumber(d), &stored) && written == stored;
}

// Returns the first number token of valid JSON text `json` that a double
// cannot hold exactly (12345678901234567890, 0.1000000000000000000001).
std::optional<std::string> FindInexactNumber(absl::string_view json) {
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"' || c == '\'') {  // skip a string
      for (++i; i < json.size() && json[i] != c; ++i) {
        if (json[i] == '\\') ++i;
      }
      ++i;
    } else if (absl::ascii_isalpha(c) || c == '_') {  // true, null, a name
      while (i < json.size() &&
             (absl::ascii_isalnum(json[i]) || json[i] == '_')) {
        ++i;
      }
    } else if (c == '-' || absl::ascii_isdigit(c)) {
      const size_t end = json.find_first_not_of("0123456789+-.eE", i);
      const absl::string_view token = json.substr(i, end - i);
      if (!IsExactNumber(token)) return std::string(token);
      i += token.size();
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string> CoerceJsonText(const Target& t, const Value& v) {
  const std::string& text = v.string_value();
  if (!IsValidUtf8(text)) {
    return ValueError("invalid_value", t, v, "not valid UTF-8");
  }
  Value parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text, &parsed);
  if (!status.ok()) {
    const std::string why(status.message().data(), status.message().size());
    return ValueError(
        "invalid_value", t, v,
        absl::StrCat("not valid JSON: ", why.substr(0, why.find('\n'))));
  }
  if (std::optional<std::string> bad = FindInexactNumber(text)) {
    return ValueError("invalid_value", t, v,
                      absl::StrCat("the number ", *bad,
                                   " cannot be stored exactly; quote it"));
  }
  std::string out;
  AppendJson(parsed, &out);
  return out;
}

}  // namespace

absl::StatusOr<std::string> CoerceJson(const Target& t, const Value& v) {
  if (v.kind_case() == Value::kStringValue) return CoerceJsonText(t, v);
  std::string out;
  if (!AppendJson(v, &out)) {
    return ValueError("out_of_range", t, v,
                      "holds a number beyond a double's range or with more "
                      "digits than a double holds exactly");
  }
  if (!IsValidUtf8(out)) {
    return ValueError("invalid_value", t, v, "not valid UTF-8");
  }
  return out;
}

Value JsonColumnToValue(absl::string_view text) {
  Value parsed;
  if (!IsValidUtf8(text) ||
      !google::protobuf::util::JsonStringToMessage(std::string(text), &parsed)
           .ok()) {
    return BytesToValue(text);
  }
  if (parsed.kind_case() == Value::kStringValue ||
      parsed.kind_case() == Value::kNullValue) {
    parsed.set_string_value(std::string(text));  // a string is JSON text
  }
  return parsed;
}

}  // namespace coerce_internal

bool IsExactJsonNumber(absl::string_view token) {
  return coerce_internal::IsExactNumber(token);
}

double InexactJsonNumber() { return std::numeric_limits<double>::quiet_NaN(); }

}  // namespace sheetsync
