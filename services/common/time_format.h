// Timestamps: the `updated_at` of a change (contract section 1) and the
// date-time grammar shared with value coercion (services/common/coerce.h).
//
// Times are int64 microseconds since the Unix epoch, UTC. ParseTimestamp
// accepts exactly what the contract allows:
//   - an RFC 3339 string: "YYYY-MM-DDTHH:MM:SS", 0-6 fractional digits after
//     a '.', then "Z" or "+hh:mm"/"-hh:mm". 'T' and 'Z' may be lower case
//     (RFC 3339 section 5.6 allows it). Rejected: a space separator, a missing
//     offset, 7+ fractional digits, a '.' without digits, years outside
//     0001-9999, invalid dates (Feb 30, month 13), hour 24, minute or second
//     60 (leap seconds are not representable in microseconds since the epoch);
//   - a JSON number of epoch milliseconds: finite, no fractional part, within
//     0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999Z.
// absl::ParseTime is not used for parsing: it accepts more than this.
//
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_TIME_FORMAT_H_
#define SHEETSYNC_SERVICES_COMMON_TIME_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/struct.pb.h"

namespace sheetsync {

// Returns the microseconds since the epoch of an `updated_at` value (a string
// or a number, see above). Errors: Reject("invalid_timestamp", ...).
absl::StatusOr<int64_t> ParseTimestamp(const google::protobuf::Value& value);

// Returns the microseconds since the epoch of an RFC 3339 string (see above).
// Errors: Reject("invalid_timestamp", ...).
absl::StatusOr<int64_t> ParseRfc3339Micros(absl::string_view text);

// Returns `us` as "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always 6 fractional digits,
// UTC). Meant for years 0001-9999; ParseRfc3339Micros inverts it there.
std::string FormatRfc3339Micros(int64_t us);

// --- The shared grammar, for value coercion ---

// A date-time as written, validated field by field.
struct DateTimeText {
  absl::CivilSecond civil;     // as written, before any offset is applied
  int32_t micros = 0;          // 0..999999
  bool has_offset = false;     // a "Z" or "±hh:mm" was present
  int32_t offset_seconds = 0;  // east of UTC ("+05:30" is 19800)
};

enum class DateTimeSyntax {
  kRfc3339,  // 'T'/'t' separator, offset required
  kSql,      // ' ', 'T' or 't' separator, offset optional
};

// Parses "YYYY-MM-DD<sep>HH:MM:SS[.f{1,6}][offset]" in the given syntax.
// Errors carry a short reason and no reject code (callers add their own
// context and code): INVALID_ARGUMENT when the text does not follow the
// grammar, OUT_OF_RANGE when a field does not exist (month 13, Feb 30, hour
// 24, year 0000).
absl::StatusOr<DateTimeText> ParseDateTimeText(absl::string_view text,
                                               DateTimeSyntax syntax);

// Parses exactly "YYYY-MM-DD" (a real calendar date, year 0001-9999).
// Errors as ParseDateTimeText.
absl::StatusOr<absl::CivilDay> ParseDateText(absl::string_view text);

// Returns the UTC microseconds since the epoch of `t` (its offset applied).
int64_t ToUnixMicros(const DateTimeText& t);

// Returns the UTC civil time and microsecond of `us`.
absl::CivilSecond CivilFromMicros(int64_t us, int32_t* micros);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_TIME_FORMAT_H_
