// Value coercion: a cell's JSON value (what a sheet sends) <-> the canonical
// SQL text of a MySQL column (what every tier carries in v1::SqlValue).
//
// The canonical text is the string MySQL/MariaDB returns for the stored value
// over the text protocol (Connector/C++ getString), so values round-trip byte
// for byte: integers without leading zeros ("-5"), DECIMAL padded to its
// scale ("12.30"), DATETIME(fsp)/TIMESTAMP(fsp)/TIME(fsp) with exactly fsp
// fractional digits, FLOAT/DOUBLE as MySQL's my_gcvt prints them ("0.1",
// "0.00000015", "1e15", "1e-16"; FLOAT with at most 6 significant digits).
//
// Rules (contract section 2) and the decisions taken where it is silent:
//  - null (or an unset Value) -> SQL NULL. `""` -> `""` in a column that can
//    hold an empty string
//    (CHAR, VARCHAR, *TEXT, BINARY, VARBINARY, *BLOB, SET, an ENUM with a ''
//    member); in any other column it means NULL. NULL into NOT NULL is
//    null_not_allowed. Read-only or generated columns: read_only_column.
//  - Integers (TINYINT..BIGINT, signed/unsigned, exact ranges): a JSON number
//    with no fractional part, up to +-2^53 (beyond that a JSON number may
//    already have lost digits: send a string), or a string of an optional
//    sign and digits (exact, any size that fits). ZEROFILL columns are padded
//    to their display width, as MySQL returns them.
//  - TINYINT(1) (BOOLEAN): true/false, "true"/"false" (any case) -> 1/0, and
//    any integer in TINYINT's range (MySQL stores them; the feed sends them
//    back as numbers).
//  - DECIMAL(p,s): a number (via its shortest round-trip decimal text) or a
//    decimal string ([+-]digits[.digits], no exponent). Fractional digits
//    beyond the scale are accepted only when they are zeros ("1.500" into
//    DECIMAL(5,2)); otherwise out_of_range: MySQL would round, and rounding
//    is a silent change.
//  - FLOAT/DOUBLE: a finite number or a numeric string (exponent allowed).
//    FLOAT keeps about 7 significant digits; its canonical text has MySQL's
//    6. Overflow and underflow to zero are out_of_range. -0 is stored as 0.
//    The deprecated FLOAT(M,D)/DOUBLE(M,D) are treated as FLOAT/DOUBLE (MySQL
//    prints them with D decimals; SqlEquals still compares them by value).
//  - YEAR: 1901-2155 or 0 (MySQL's zero year, the implicit default), as a
//    number or a 4-digit string; 2-digit years are rejected (MySQL would
//    reinterpret them).
//  - DATE "YYYY-MM-DD"; DATETIME/TIMESTAMP "YYYY-MM-DD HH:MM:SS[.ffffff]",
//    'T' also accepted, a date alone means midnight; a trailing "Z"/"+hh:mm"
//    converts the time to UTC. TIMESTAMP text is UTC (the writer sets the
//    session time_zone to '+00:00') within 1970-01-01 00:00:01 and
//    2038-01-19 03:14:07.999999. More fractional digits than the column's fsp
//    are accepted only when zeros (as for DECIMAL). Years 0001-9999.
//  - TIME "[-]H{1,3}:MM:SS[.ffffff]" within -838:59:59 .. 838:59:59.
//  - CHAR/VARCHAR: valid UTF-8, at most max_chars characters (code points);
//    a utf8mb3 column (max_bytes == 3 * max_chars) rejects 4-byte characters.
//    CHAR rejects trailing spaces, because MySQL strips them on read.
//    *TEXT: valid UTF-8, at most max_bytes bytes. NUL bytes are allowed.
//    Numbers become their JSON text ("42", "0.5"), booleans "true"/"false".
//  - BINARY/VARBINARY/*BLOB: the string's bytes (no UTF-8 check), length in
//    bytes; BINARY(n) is padded with NUL bytes to n, as MySQL stores it. The
//    object {"base64": "..."} (what SqlToJson emits for bytes that are not
//    valid UTF-8) is decoded.
//  - ENUM: an exact (case-sensitive) member. SET: comma-separated members,
//    returned in declaration order without duplicates, as MySQL does.
//    Numbers and booleans are matched by their text.
//  - JSON: a string holding a JSON document, or a number, boolean, object or
//    array, stored as canonical JSON text (MySQL's layout: ", " and ": ",
//    keys ordered by length then bytes). A number a double cannot hold
//    exactly (e.g. 12345678901234567890) is invalid_value inside JSON text,
//    out_of_range as a JSON value (below).
//  - Into any column, a JSON number a double cannot hold exactly (more than
//    15 significant digits, like 9007199254740993 or 0.12345678901234567891;
//    the gateway sends InexactJsonNumber() in its place) is out_of_range:
//    storing the nearest double would be a silent change. Send it as a
//    string.
//  - UUID (MariaDB): a UUID in any case, stored in lower case.
//  - Other types (BIT, spatial, INET6, ...): type_mismatch, unsupported.
// Error codes: read_only_column, null_not_allowed, type_mismatch (wrong kind
// of value or syntax), out_of_range (numbers, dates, precision),
// value_too_long, invalid_value (bad UTF-8, not a member, bad JSON, ...).
//
// Pure functions; thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_COERCE_H_
#define SHEETSYNC_SERVICES_COMMON_COERCE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Returns the canonical SQL value of `value` for column `col`, or a status
// from Reject() naming the column, the value and the expected type.
absl::StatusOr<v1::SqlValue> CoerceToColumn(
    const v1::Column& col, const google::protobuf::Value& value);

// Returns the JSON value the change feed shows for a stored value; lossless:
// CoerceToColumn(col, SqlToJson(col, v)) gives `v` back for every canonical
// `v`. NULL -> null; integers -> a number when |v| <= 2^53, else a string;
// TINYINT(1) -> true/false for 1/0, else a number; DECIMAL -> a string;
// FLOAT/DOUBLE and YEAR -> a number; DATE/DATETIME/TIMESTAMP/TIME -> the
// canonical string; text, ENUM, SET -> a string; JSON -> the parsed value,
// except that a JSON string or null document is returned as its JSON text
// (a plain string sent back is read as JSON text); binary -> the raw bytes as
// a string when they are valid UTF-8, else {"base64": "<RFC 4648 base64>"}.
// Text that is not canonical is canonicalised where it parses; anything else
// is returned as a string.
google::protobuf::Value SqlToJson(const v1::Column& col,
                                  const v1::SqlValue& value);

// Returns the value MySQL gives a column without a DEFAULT clause that no
// change has written: NULL when nullable; otherwise 0 (numbers, YEAR 0000),
// "" (text, binary, SET), n NUL bytes (BINARY(n)), the first ENUM member,
// "null" (JSON), the nil UUID. Strict mode forbids zero dates, so temporal
// types use "1970-01-01", "1970-01-01 00:00:00" (DATETIME),
// "1970-01-01 00:00:01" (TIMESTAMP, its first valid second) and "00:00:00",
// with the column's fsp digits. Ignores has_default: the caller decides.
v1::SqlValue ImplicitDefault(const v1::Column& col);

// Returns whether the JSON number token `token` (RFC 8259's grammar) reads
// back from a double as written: the nearest double, printed in its shortest
// form, has the same value ("12.50", "1e2" and "0.1" do; "9007199254740993",
// "0.1000000000000000000001" and "1e-400" do not).
bool IsExactJsonNumber(absl::string_view token);

// The number the gateway gives a cell in place of a JSON number that a
// double cannot hold exactly (IsExactJsonNumber), and that CoerceToColumn
// rejects as out_of_range: NaN, which no JSON text can spell.
double InexactJsonNumber();

// Returns whether `a` and `b` are the same stored value of `col`, comparing
// canonical forms (so "12.3" equals "12.30" in DECIMAL(5,2), and a DATETIME
// read without its zero fraction equals the one with it). is_default is
// ignored. Texts that do not parse are compared byte for byte.
bool SqlEquals(const v1::Column& col, const v1::SqlValue& a,
               const v1::SqlValue& b);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_COERCE_H_
