#include "services/common/time_format.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/reject.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch milliseconds.
constexpr double kMinEpochMillis = -62135596800000.0;
constexpr double kMaxEpochMillis = 253402300799999.0;

// Consumes a string from the front, one token at a time.
class Cursor {
 public:
  explicit Cursor(absl::string_view s) : s_(s) {}

  // Consumes exactly `n` ASCII digits into `*out`.
  bool Digits(int n, int* out) {
    if (s_.size() < static_cast<size_t>(n)) return false;
    int value = 0;
    for (int i = 0; i < n; ++i) {
      if (!absl::ascii_isdigit(s_[i])) return false;
      value = value * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(n);
    *out = value;
    return true;
  }
  // Consumes the next character when it is one of `chars`.
  bool OneOf(absl::string_view chars, char* got = nullptr) {
    if (s_.empty() || chars.find(s_[0]) == absl::string_view::npos) {
      return false;
    }
    if (got != nullptr) *got = s_[0];
    s_.remove_prefix(1);
    return true;
  }
  // Consumes a run of digits (possibly empty).
  absl::string_view DigitRun() {
    size_t n = 0;
    while (n < s_.size() && absl::ascii_isdigit(s_[n])) ++n;
    absl::string_view run = s_.substr(0, n);
    s_.remove_prefix(n);
    return run;
  }
  bool Done() const { return s_.empty(); }

 private:
  absl::string_view s_;
};

// A text that does not follow the grammar.
absl::Status Bad(absl::string_view reason) {
  return absl::InvalidArgumentError(reason);
}

// A field that follows the grammar but is out of range (month 13, Feb 30).
absl::Status BadField(absl::string_view reason) {
  return absl::OutOfRangeError(reason);
}

absl::Status CheckDate(int y, int m, int d) {
  if (y < 1) return BadField("year 0000 is not supported");
  if (m < 1 || m > 12) {
    return BadField(absl::StrFormat("month %02d does not exist", m));
  }
  const absl::CivilDay day(y, m, d);
  if (d < 1 || day.month() != m || day.day() != d) {
    return BadField(
        absl::StrFormat("%04d-%02d-%02d is not a calendar date", y, m, d));
  }
  return absl::OkStatus();
}

absl::Status ParseDate(Cursor& c, absl::CivilDay* out) {
  int y = 0, m = 0, d = 0;
  if (!c.Digits(4, &y) || !c.OneOf("-") || !c.Digits(2, &m) || !c.OneOf("-") ||
      !c.Digits(2, &d)) {
    return Bad("expected a date as YYYY-MM-DD");
  }
  RETURN_IF_ERROR(CheckDate(y, m, d));
  *out = absl::CivilDay(y, m, d);
  return absl::OkStatus();
}

absl::Status ParseClock(Cursor& c, int* h, int* m, int* s) {
  if (!c.Digits(2, h) || !c.OneOf(":") || !c.Digits(2, m) || !c.OneOf(":") ||
      !c.Digits(2, s)) {
    return Bad("expected a time as HH:MM:SS");
  }
  if (*h > 23) return BadField("hour must be 00-23");
  if (*m > 59) return BadField("minute must be 00-59");
  if (*s > 59) return BadField("second must be 00-59");
  return absl::OkStatus();
}

absl::Status ParseFraction(Cursor& c, int32_t* micros) {
  *micros = 0;
  if (!c.OneOf(".")) return absl::OkStatus();
  absl::string_view digits = c.DigitRun();
  if (digits.empty()) return Bad("expected digits after '.'");
  if (digits.size() > 6) return Bad("at most 6 fractional digits are allowed");
  for (size_t i = 0; i < 6; ++i) {
    *micros = *micros * 10 + (i < digits.size() ? digits[i] - '0' : 0);
  }
  return absl::OkStatus();
}

absl::Status ParseOffset(Cursor& c, DateTimeSyntax syntax, DateTimeText* t) {
  char sign = 0;
  if (c.OneOf("Zz")) {
    t->has_offset = true;
  } else if (c.OneOf("+-", &sign)) {
    int h = 0, m = 0;
    if (!c.Digits(2, &h) || !c.OneOf(":") || !c.Digits(2, &m) || h > 23 ||
        m > 59) {
      return Bad("expected a time zone offset as +hh:mm or -hh:mm");
    }
    t->has_offset = true;
    t->offset_seconds = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
  } else if (syntax == DateTimeSyntax::kRfc3339) {
    return Bad("missing the time zone offset (Z or +hh:mm)");
  }
  return absl::OkStatus();
}

absl::Status InvalidTimestamp(absl::string_view shown, absl::string_view why) {
  return Reject("invalid_timestamp",
                absl::StrCat("updated_at must be an RFC 3339 time like "
                             "2026-11-25T15:01:09.123Z or epoch milliseconds; "
                             "got ",
                             shown, why.empty() ? "" : " (", why,
                             why.empty() ? "" : ")"));
}

}  // namespace

absl::StatusOr<DateTimeText> ParseDateTimeText(absl::string_view text,
                                               DateTimeSyntax syntax) {
  Cursor c(text);
  absl::CivilDay day;
  RETURN_IF_ERROR(ParseDate(c, &day));
  const absl::string_view seps =
      syntax == DateTimeSyntax::kSql ? absl::string_view(" Tt") : "Tt";
  if (!c.OneOf(seps)) return Bad("expected 'T' between the date and the time");
  int h = 0, m = 0, s = 0;
  RETURN_IF_ERROR(ParseClock(c, &h, &m, &s));
  DateTimeText t;
  t.civil = absl::CivilSecond(day.year(), day.month(), day.day(), h, m, s);
  RETURN_IF_ERROR(ParseFraction(c, &t.micros));
  RETURN_IF_ERROR(ParseOffset(c, syntax, &t));
  if (!c.Done()) return Bad("unexpected text after the time");
  return t;
}

absl::StatusOr<absl::CivilDay> ParseDateText(absl::string_view text) {
  Cursor c(text);
  absl::CivilDay day;
  RETURN_IF_ERROR(ParseDate(c, &day));
  if (!c.Done()) return Bad("unexpected text after the date");
  return day;
}

int64_t ToUnixMicros(const DateTimeText& t) {
  const int64_t seconds =
      (t.civil - absl::CivilSecond(1970, 1, 1, 0, 0, 0)) - t.offset_seconds;
  return seconds * kMicrosPerSecond + t.micros;
}

absl::CivilSecond CivilFromMicros(int64_t us, int32_t* micros) {
  int64_t seconds = us / kMicrosPerSecond;
  int64_t rest = us % kMicrosPerSecond;
  if (rest < 0) {
    rest += kMicrosPerSecond;
    --seconds;
  }
  *micros = static_cast<int32_t>(rest);
  return absl::CivilSecond(1970, 1, 1, 0, 0, 0) + seconds;
}

std::string FormatRfc3339Micros(int64_t us) {
  int32_t micros;
  const absl::CivilSecond cs = CivilFromMicros(us, &micros);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", cs.year(),
                         cs.month(), cs.day(), cs.hour(), cs.minute(),
                         cs.second(), micros);
}

absl::StatusOr<int64_t> ParseRfc3339Micros(absl::string_view text) {
  absl::StatusOr<DateTimeText> t =
      ParseDateTimeText(text, DateTimeSyntax::kRfc3339);
  if (!t.ok()) {
    constexpr size_t kMaxShown = 64;
    return InvalidTimestamp(
        absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMaxShown)),
                     text.size() > kMaxShown ? "...\"" : "\""),
        t.status().message());
  }
  const int64_t us = ToUnixMicros(*t);
  // An offset can carry 0001-01-01 or 9999-12-31 past the years RFC 3339
  // output (always UTC) can spell.
  if (us < static_cast<int64_t>(kMinEpochMillis) * 1000 ||
      us > static_cast<int64_t>(kMaxEpochMillis) * 1000 + 999) {
    return InvalidTimestamp(absl::StrCat("\"", absl::CHexEscape(text.substr(0, 64)), "\""),
                            "outside the years 0001-9999 in UTC");
  }
  return us;
}

absl::StatusOr<int64_t> ParseTimestamp(const google::protobuf::Value& value) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kStringValue:
      return ParseRfc3339Micros(value.string_value());
    case google::protobuf::Value::kNumberValue: {
      const double ms = value.number_value();
      const std::string shown = absl::StrFormat("%.17g", ms);
      if (std::isfinite(ms) && std::trunc(ms) != ms) {
        return InvalidTimestamp(shown, "milliseconds must be a whole number");
      }
      if (!(ms >= kMinEpochMillis && ms <= kMaxEpochMillis)) {  // also ±inf
        return InvalidTimestamp(shown, "outside the years 0001-9999");
      }
      return static_cast<int64_t>(ms) * 1000;
    }
    case google::protobuf::Value::kBoolValue:
      return InvalidTimestamp("a boolean", "");
    case google::protobuf::Value::kStructValue:
    case google::protobuf::Value::kListValue:
      return InvalidTimestamp("an object or array", "");
    default:
      return InvalidTimestamp("null", "");
  }
}

}  // namespace sheetsync
