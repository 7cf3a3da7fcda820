// Internals of services/common/coerce.h, shared by its coerce_*.cc files:
// the classification of a column's type, error-message helpers and the
// coercion of each family of types. Not for use outside coerce*.cc.
//
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_COERCE_INTERNAL_H_
#define SHEETSYNC_SERVICES_COMMON_COERCE_INTERNAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "services/common/utf8.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {
namespace coerce_internal {

enum class Kind {
  kBool,  // TINYINT(1)
  kInt,
  kDecimal,
  kFloat,
  kDouble,
  kYear,
  kDate,
  kDateTime,
  kTimestamp,
  kTime,
  kChar,
  kVarchar,
  kText,
  kBinary,
  kVarbinary,
  kBlob,
  kEnum,
  kSet,
  kJson,
  kUuid,
  kUnsupported,
};

// What coercion needs to know about a column's type.
struct ColumnType {
  Kind kind = Kind::kUnsupported;
  std::string label;  // for messages: "INT UNSIGNED", "DECIMAL(5,2)"
  bool is_unsigned = false;
  uint64_t max_positive = 0;  // integers: the largest value
  uint64_t max_negative = 0;  // integers: magnitude of the smallest value
  int zerofill_width = 0;     // integers with ZEROFILL: the display width
  int precision = 0;          // DECIMAL
  int scale = 0;              // DECIMAL
  int fsp = 0;                // DATETIME, TIMESTAMP, TIME
  uint64_t max_length = 0;    // characters (CHAR/VARCHAR) or bytes (others)
  bool utf8mb3 = false;       // CHAR/VARCHAR that cannot hold 4-byte UTF-8
  // *TEXT in a character set of one byte per character (its limit counts
  // characters, not UTF-8 bytes).
  bool single_byte = false;
  std::vector<std::string> members;  // ENUM, SET
};

// Returns the type of `col`, from data_type and column_type (and the
// information_schema lengths, falling back to column_type when they are 0).
ColumnType ClassifyColumn(const v1::Column& col);

// Returns whether `""` is a value of the column (else it means NULL).
bool CanHoldEmptyString(const ColumnType& type);

// The column a value is being coerced into.
struct Target {
  const v1::Column& col;
  const ColumnType& type;
};

// Returns `s` quoted for a message: at most 40 bytes, escaped, always valid
// UTF-8 (messages travel in proto strings).
std::string QuoteForMessage(absl::string_view s);

// Returns a short rendering of `v` for messages: 42.5, "abc", true, null.
std::string ShowValue(const google::protobuf::Value& v);

// Returns Reject(code, "column `c` expects <label>; got <value>[: why]").
absl::Status ValueError(absl::string_view code, const Target& t,
                        const google::protobuf::Value& v,
                        absl::string_view why = "");

// Each returns the canonical text of a non-null value for its family; the
// caller has handled null, `""`-as-NULL, read-only and non-finite numbers.
// BOOL, INT, DECIMAL, FLOAT, DOUBLE, YEAR:
absl::StatusOr<std::string> CoerceNumeric(const Target& t,
                                          const google::protobuf::Value& v);
// DATE, DATETIME, TIMESTAMP, TIME:
absl::StatusOr<std::string> CoerceTemporal(const Target& t,
                                           const google::protobuf::Value& v);
// CHAR .. BLOB, ENUM, SET, UUID:
absl::StatusOr<std::string> CoerceString(const Target& t,
                                         const google::protobuf::Value& v);
// JSON:
absl::StatusOr<std::string> CoerceJson(const Target& t,
                                       const google::protobuf::Value& v);

// Returns the feed's value of the text of a JSON column (see SqlToJson).
google::protobuf::Value JsonColumnToValue(absl::string_view text);

// Returns `bytes` as a JSON string when valid UTF-8, else {"base64": ...}.
google::protobuf::Value BytesToValue(absl::string_view bytes);

// Returns `d` as MySQL prints a DOUBLE ("0.1", "1e15", "-1.5e-16").
std::string FormatMysqlDouble(double d);
// Returns `f` as MySQL prints a FLOAT (at most 6 significant digits).
std::string FormatMysqlFloat(float f);
// Returns the text of a JSON number: an integer when whole and within 2^53,
// else FormatMysqlDouble. -0 is "0".
std::string FormatJsonNumber(double d);

using ::sheetsync::IsValidUtf8;  // services/common/utf8.h

}  // namespace coerce_internal
}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_COERCE_INTERNAL_H_
