// Coercion of DATE, DATETIME, TIMESTAMP and TIME values.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/coerce_internal.h"
#include "services/common/status_macros.h"
#include "services/common/time_format.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

using google::protobuf::Value;

constexpr int64_t kMicrosPerSecond = 1000000;
// TIMESTAMP holds 1970-01-01 00:00:01 .. 2038-01-19 03:14:07.999999 UTC.
constexpr int64_t kMinTimestampMicros = kMicrosPerSecond;
constexpr int64_t kMaxTimestampMicros =
    2147483647LL * kMicrosPerSecond + 999999;
// TIME holds -838:59:59 .. 838:59:59.
constexpr int64_t kMaxTimeMicros =
    (838LL * 3600 + 59 * 60 + 59) * kMicrosPerSecond;

// Maps a parse error of time_format.h to a coercion error: bad syntax is a
// type mismatch, a field that does not exist (Feb 30) an invalid value.
absl::Status ParseError(const Target& t, const Value& v,
                        const absl::Status& error, absl::string_view form) {
  if (error.code() == absl::StatusCode::kOutOfRange) {
    return ValueError("invalid_value", t, v, error.message());
  }
  return ValueError("type_mismatch", t, v, absl::StrCat("write it as ", form));
}

// Returns an error when `micros` has nonzero digits beyond the column's fsp.
absl::Status CheckFraction(const Target& t, const Value& v, int64_t micros) {
  int64_t unit = 1;
  for (int i = t.type.fsp; i < 6; ++i) unit *= 10;
  if (micros % unit == 0) return absl::OkStatus();
  return ValueError("out_of_range", t, v,
                    t.type.fsp == 0
                        ? std::string("the column stores whole seconds")
                        : absl::StrCat("the column stores ", t.type.fsp,
                                       " fractional digits"));
}

// Returns ".ffff" with the column's fsp digits of `micros`, or "".
std::string Fraction(int fsp, int32_t micros) {
  if (fsp == 0) return "";
  return absl::StrCat(".", absl::StrFormat("%06d", micros).substr(0, fsp));
}

absl::StatusOr<std::string> CoerceDate(const Target& t, const Value& v) {
  absl::StatusOr<absl::CivilDay> day = ParseDateText(v.string_value());
  if (!day.ok()) return ParseError(t, v, day.status(), "YYYY-MM-DD");
  return absl::StrFormat("%04d-%02d-%02d", day->year(), day->month(),
                         day->day());
}

absl::StatusOr<DateTimeText> ParseDateTime(const Target& t, const Value& v) {
  constexpr absl::string_view kForm = "YYYY-MM-DD HH:MM:SS[.ffffff]";
  const std::string& s = v.string_value();
  DateTimeText dt;
  if (s.size() == 10) {  // a date alone: midnight
    absl::StatusOr<absl::CivilDay> day = ParseDateText(s);
    if (!day.ok()) return ParseError(t, v, day.status(), kForm);
    dt.civil = absl::CivilSecond(*day);
    return dt;
  }
  absl::StatusOr<DateTimeText> parsed =
      ParseDateTimeText(s, DateTimeSyntax::kSql);
  if (!parsed.ok()) return ParseError(t, v, parsed.status(), kForm);
  return *parsed;
}

absl::StatusOr<std::string> CoerceDateTime(const Target& t, const Value& v) {
  ASSIGN_OR_RETURN(const DateTimeText dt, ParseDateTime(t, v));
  const int64_t us = ToUnixMicros(dt);  // naive text is taken as UTC
  int32_t micros;
  const absl::CivilSecond cs = CivilFromMicros(us, &micros);
  if (t.type.kind == Kind::kTimestamp &&
      (us < kMinTimestampMicros || us > kMaxTimestampMicros)) {
    return ValueError("out_of_range", t, v,
                      "TIMESTAMP holds 1970-01-01 00:00:01 to "
                      "2038-01-19 03:14:07.999999 UTC");
  }
  if (cs.year() < 1 || cs.year() > 9999) {
    return ValueError("out_of_range", t, v, "years 0001 to 9999");
  }
  RETURN_IF_ERROR(CheckFraction(t, v, micros));
  return absl::StrCat(
      absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d", cs.year(), cs.month(),
                      cs.day(), cs.hour(), cs.minute(), cs.second()),
      Fraction(t.type.fsp, micros));
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

// The fields of "[-]H{1,3}:MM:SS[.f{1,6}]", each all digits.
struct TimeFields {
  bool negative = false;
  absl::string_view hours, minutes, seconds, fraction;
};

bool SplitTime(absl::string_view s, TimeFields* out) {
  out->negative = absl::ConsumePrefix(&s, "-");
  const std::vector<absl::string_view> parts = absl::StrSplit(s, ':');
  if (parts.size() != 3) return false;
  out->hours = parts[0];
  out->minutes = parts[1];
  out->seconds = parts[2];
  const size_t dot = out->seconds.find('.');
  if (dot != absl::string_view::npos) {
    out->fraction = out->seconds.substr(dot + 1);
    out->seconds = out->seconds.substr(0, dot);
    if (out->fraction.empty() || out->fraction.size() > 6) return false;
  }
  return !out->hours.empty() && out->hours.size() <= 3 &&
         out->minutes.size() == 2 && out->seconds.size() == 2 &&
         AllDigits(out->hours) && AllDigits(out->minutes) &&
         AllDigits(out->seconds) && AllDigits(out->fraction);
}

// Returns the signed microseconds of a TIME text.
absl::StatusOr<int64_t> ParseTime(const Target& t, const Value& v) {
  TimeFields p;
  if (!SplitTime(v.string_value(), &p)) {
    return ValueError("type_mismatch", t, v,
                      "write it as [-]HH:MM:SS[.ffffff]");
  }
  int64_t h = 0, m = 0, sec = 0, f = 0;
  (void)absl::SimpleAtoi(p.hours, &h);
  (void)absl::SimpleAtoi(p.minutes, &m);
  (void)absl::SimpleAtoi(p.seconds, &sec);
  if (!p.fraction.empty()) (void)absl::SimpleAtoi(p.fraction, &f);
  for (size_t i = p.fraction.size(); i < 6; ++i) f *= 10;
  if (m > 59 || sec > 59) {
    return ValueError("invalid_value", t, v, "minutes and seconds are 00-59");
  }
  const int64_t us = ((h * 60 + m) * 60 + sec) * kMicrosPerSecond + f;
  if (us > kMaxTimeMicros) {
    return ValueError("out_of_range", t, v,
                      "TIME holds -838:59:59 to 838:59:59");
  }
  return p.negative ? -us : us;
}

absl::StatusOr<std::string> CoerceTime(const Target& t, const Value& v) {
  ASSIGN_OR_RETURN(const int64_t signed_us, ParseTime(t, v));
  const int64_t us = signed_us < 0 ? -signed_us : signed_us;
  RETURN_IF_ERROR(CheckFraction(t, v, us % kMicrosPerSecond));
  const int64_t seconds = us / kMicrosPerSecond;
  return absl::StrCat(
      signed_us < 0 ? "-" : "",
      absl::StrFormat("%02d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                      seconds % 60),
      Fraction(t.type.fsp, static_cast<int32_t>(us % kMicrosPerSecond)));
}

}  // namespace

absl::StatusOr<std::string> CoerceTemporal(const Target& t, const Value& v) {
  if (v.kind_case() != Value::kStringValue) {
    return ValueError("type_mismatch", t, v, "dates and times are strings");
  }
  switch (t.type.kind) {
    case Kind::kDate:
      return CoerceDate(t, v);
    case Kind::kTime:
      return CoerceTime(t, v);
    default:
      return CoerceDateTime(t, v);
  }
}

}  // namespace coerce_internal
}  // namespace sheetsync
