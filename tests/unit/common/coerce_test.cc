// Table-driven tests of services/common/coerce.h for NULL, read-only,
// numeric and temporal columns: canonical text, reject code and message.
#include "services/common/coerce.h"

#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "services/common/reject.h"
#include "tests/unit/common/coerce_test_util.h"

namespace sheetsync {
namespace coerce_test {
namespace {

TEST(CoerceTest, MessageNamesColumnValueAndType) {
  v1::Column score = Col("int", "int(11)");
  score.set_name("score");
  absl::StatusOr<v1::SqlValue> got = CoerceToColumn(score, N(42.5));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "column `score` expects INT; got 42.5");
  EXPECT_EQ(RejectCode(got.status()), "type_mismatch");
}

TEST(CoerceTest, NullEmptyStringAndReadOnly) {
  v1::Column ro = Col("int", "int(11)");
  ro.set_read_only(true);
  v1::Column generated = Col("varchar", "varchar(5)");
  generated.set_generated(true);
  RunAccepts({
      {Col("int", "int(11)"), Null(), kNull},
      {Col("int", "int(11)"), S(""), kNull},
      {Col("date", "date"), S(""), kNull},
      {Col("json", "json"), S(""), kNull},
      {Enum("enum", "enum('a')", {"a"}), S(""), kNull},
      {Enum("enum", "enum('','a')", {"", "a"}), S(""), ""},
      {Str("varchar", "varchar(5)", 5, 20), S(""), ""},
      {NotNull(Str("varchar", "varchar(5)", 5, 20)), S(""), ""},
      {Str("varchar", "varchar(5)", 5, 20), Value(), kNull},
  });
  RunRefuses({
      {NotNull(Col("int", "int(11)")), Null(), "null_not_allowed",
       "is NOT NULL; got null"},
      {NotNull(Col("int", "int(11)")), S(""), "null_not_allowed",
       "an empty cell means NULL"},
      {NotNull(Str("varchar", "varchar(5)", 5, 20)), Null(), "null_not_allowed",
       "NOT NULL"},
      {ro, N(1), "read_only_column", "read-only"},
      {ro, Null(), "read_only_column", "read-only"},
      {generated, S("x"), "read_only_column", "read-only"},
      // 1e400 in the body: beyond a double, whatever the column.
      {Col("int", "int(11)"), N(std::numeric_limits<double>::infinity()),
       "out_of_range", "beyond a double's range"},
      {Col("varchar", "varchar(5)"),
       N(-std::numeric_limits<double>::infinity()), "out_of_range",
       "beyond a double's range"},
      {Col("double", "double"), N(std::numeric_limits<double>::infinity()),
       "out_of_range", "beyond a double's range"},
      {Col("varchar", "varchar(5)"), N(InexactJsonNumber()), "out_of_range",
       "more digits than a double holds exactly; send it as a string"},
      {Col("int", "int"), N(InexactJsonNumber()), "out_of_range",
       "a number of many digits"},
      {Col("decimal", "decimal(30,2)"), N(InexactJsonNumber()), "out_of_range",
       "more digits"},
  });
}

TEST(CoerceTest, Integers) {
  const v1::Column i = Col("int", "int(11)");
  const v1::Column u = Col("int", "int(10) unsigned");
  RunAccepts({
      {i, N(42), "42"},
      {i, N(42.0), "42"},
      {i, N(-7), "-7"},
      {i, N(-0.0), "0"},
      {i, S("42"), "42"},
      {i, S("+42"), "42"},
      {i, S("-0"), "0"},
      {i, S("007"), "7"},
      {i, N(2147483647), "2147483647"},
      {i, S("-2147483648"), "-2147483648"},
      {u, S("4294967295"), "4294967295"},
      {u, S("-0"), "0"},
      {Col("tinyint", "tinyint(4)"), N(-128), "-128"},
      {Col("tinyint", "tinyint(3) unsigned"), N(255), "255"},
      {Col("smallint", "smallint(6)"), N(-32768), "-32768"},
      {Col("smallint", "smallint(5) unsigned"), N(65535), "65535"},
      {Col("mediumint", "mediumint(9)"), N(-8388608), "-8388608"},
      {Col("mediumint", "mediumint(8) unsigned"), N(16777215), "16777215"},
      {Col("bigint", "bigint(20)"), S("9223372036854775807"),
       "9223372036854775807"},
      {Col("bigint", "bigint(20)"), S("-9223372036854775808"),
       "-9223372036854775808"},
      {Col("bigint", "bigint(20) unsigned"), S("18446744073709551615"),
       "18446744073709551615"},
      {Col("bigint", "bigint(20)"), N(9007199254740991), "9007199254740991"},
      {Col("bigint", "bigint(20)"), N(-9007199254740991), "-9007199254740991"},
      {Col("int", "int(5) unsigned zerofill"), N(42), "00042"},
      {Col("int", "int(5) unsigned zerofill"), S("1234567"), "1234567"},
  });
  RunRefuses({
      {i, N(42.5), "type_mismatch", "expects INT; got 42.5"},
      {i, S("42.5"), "type_mismatch", "optional sign and digits"},
      {i, S(" 42"), "type_mismatch", "got \" 42\""},
      {i, S("4e2"), "type_mismatch", "INT"},
      {i, S("0x10"), "type_mismatch", "INT"},
      {i, S("-"), "type_mismatch", "INT"},
      {i, B(true), "type_mismatch", "got true"},
      {i, J("{\"a\":1}"), "type_mismatch", "got an object"},
      {i, J("[1]"), "type_mismatch", "got an array"},
      {i, N(2147483648), "out_of_range", "-2147483648 to 2147483647"},
      {i, S("-2147483649"), "out_of_range", "INT"},
      {i, S("99999999999999999999999"), "out_of_range", "INT"},
      {u, N(-1), "out_of_range", "0 to 4294967295"},
      {u, S("4294967296"), "out_of_range", "INT UNSIGNED"},
      {Col("tinyint", "tinyint(4)"), N(128), "out_of_range", "TINYINT"},
      {Col("tinyint", "tinyint(3) unsigned"), N(256), "out_of_range",
       "TINYINT UNSIGNED"},
      {Col("smallint", "smallint(6)"), N(32768), "out_of_range", "SMALLINT"},
      {Col("mediumint", "mediumint(9)"), N(8388608), "out_of_range",
       "MEDIUMINT"},
      {Col("mediumint", "mediumint(8) unsigned"), N(16777216), "out_of_range",
       "MEDIUMINT"},
      {Col("bigint", "bigint(20)"), S("9223372036854775808"), "out_of_range",
       "BIGINT"},
      {Col("bigint", "bigint(20)"), S("-9223372036854775809"), "out_of_range",
       "BIGINT"},
      {Col("bigint", "bigint(20) unsigned"), S("18446744073709551616"),
       "out_of_range", "BIGINT UNSIGNED"},
      {Col("bigint", "bigint(20)"), N(1e16), "out_of_range",
       "send large integers as strings"},
      // 9007199254740993 parses as this double: what was sent is unknown.
      {Col("bigint", "bigint(20)"), N(9007199254740992), "out_of_range",
       "send large integers as strings"},
      {Col("bigint", "bigint(20) unsigned"), N(-9007199254740992),
       "out_of_range", "send large integers as strings"},
  });
}

TEST(CoerceTest, Booleans) {
  const v1::Column b = Col("tinyint", "tinyint(1)");
  RunAccepts({
      {b, B(true), "1"},
      {b, B(false), "0"},
      {b, N(1), "1"},
      {b, N(0), "0"},
      {b, S("1"), "1"},
      {b, S("0"), "0"},
      {b, N(5), "5"},
      {b, N(-128), "-128"},
      {Col("boolean", ""), B(true), "1"},
  });
  RunRefuses({
      {b, S("yes"), "type_mismatch", "expects BOOLEAN; got \"yes\""},
      // A string fits an integer column only as a sign and digits.
      {b, S("true"), "type_mismatch", "expects BOOLEAN; got \"true\""},
      {b, S("FALSE"), "type_mismatch", "BOOLEAN"},
      {b, N(0.5), "type_mismatch", "BOOLEAN"},
      {b, N(128), "out_of_range", "-128 to 127"},
      {b, J("[true]"), "type_mismatch", "BOOLEAN"},
  });
}

TEST(CoerceTest, Decimals) {
  const v1::Column d = Dec(5, 2);
  RunAccepts({
      {d, S("12.3"), "12.30"},
      {d, N(12.3), "12.30"},
      {d, S("-0.5"), "-0.50"},
      {d, S(".5"), "0.50"},
      {d, S("12."), "12.00"},
      {d, S("1.500"), "1.50"},
      {d, S("-0.00"), "0.00"},
      {d, N(-0.0), "0.00"},
      {d, S("+999.99"), "999.99"},
      {d, N(999.99), "999.99"},
      {d, S("00012.5"), "12.50"},
      {d, N(7), "7.00"},
      {Dec(10, 0), S("123"), "123"},
      {Dec(10, 0), S("-123.000"), "-123"},
      {Dec(65, 30), S("12345678901234567890123456789012345.5"),
       "12345678901234567890123456789012345.500000000000000000000000000000"},
      {Col("decimal", "decimal(6,3)"), S("1.5"), "1.500"},  // from column_type
  });
  RunRefuses({
      {d, S("1000"), "out_of_range", "at most 3 digits before"},
      {d, N(1000), "out_of_range", "DECIMAL(5,2)"},
      {d, S("1.234"), "out_of_range", "at most 2 decimal places"},
      {d, N(0.125), "out_of_range", "at most 2 decimal places"},
      {d, N(0.1 + 0.2), "out_of_range", "got 0.30000000000000004"},
      {d, S("abc"), "type_mismatch", "DECIMAL(5,2)"},
      {d, S("1e2"), "type_mismatch", "DECIMAL(5,2)"},
      {d, S("1,5"), "type_mismatch", "DECIMAL(5,2)"},
      {d, S("."), "type_mismatch", "DECIMAL(5,2)"},
      {d, B(true), "type_mismatch", "DECIMAL(5,2)"},
      {Col("decimal", "decimal(5,2) unsigned"), S("-1"), "out_of_range",
       "unsigned"},
  });
}

// The expected DOUBLE/FLOAT texts are what MariaDB 10.11 returns for the
// stored value (checked with the mariadb client).
TEST(CoerceTest, FloatingPoint) {
  const v1::Column db = Col("double", "double");
  const v1::Column fl = Col("float", "float");
  RunAccepts({
      {db, N(0.1), "0.1"},
      {db, N(1e15), "1e15"},
      {db, N(1e14), "100000000000000"},
      {db, N(123456789012), "123456789012"},
      {db, N(123456789012345678), "1.2345678901234568e17"},
      {db, N(1.5e-7), "0.00000015"},
      {db, N(1e-15), "0.000000000000001"},
      {db, N(1e-16), "1e-16"},
      {db, N(-2.5e-300), "-2.5e-300"},
      {db, N(-2.5), "-2.5"},
      {db, N(-0.0), "0"},
      {db, S("1e308"), "1e308"},
      {db, S("-.5E-3"), "-0.0005"},
      {db, S("+12"), "12"},
      {db, S("0.1"), "0.1"},
      {db, N(0.1 + 0.2), "0.30000000000000004"},
      {db, N(1e21), "1e21"},
      {fl, N(1.2345678), "1.23457"},
      {fl, N(123456789), "123457000"},
      {fl, N(0.000012345678), "0.0000123457"},
      {fl, N(1e-45), "1.4013e-45"},
      {fl, N(0.1), "0.1"},
      {fl, N(16777217), "16777200"},
      {fl, N(3.4e38), "3.4e38"},
      {fl, S("-1.5"), "-1.5"},
  });
  RunRefuses({
      {db, S("1e309"), "out_of_range", "DOUBLE"},
      {db, S("1e-400"), "out_of_range", "DOUBLE"},
      {db, S("abc"), "type_mismatch", "DOUBLE"},
      {db, S("nan"), "type_mismatch", "DOUBLE"},
      {db, S("inf"), "type_mismatch", "DOUBLE"},
      {db, S("1e"), "type_mismatch", "DOUBLE"},
      {db, B(false), "type_mismatch", "DOUBLE"},
      {fl, N(1e39), "out_of_range", "FLOAT"},
      {fl, N(1e-50), "out_of_range", "FLOAT"},
      {Col("double", "double unsigned"), N(-1), "out_of_range", "unsigned"},
  });
}

TEST(CoerceTest, Years) {
  const v1::Column y = Col("year", "year(4)");
  RunAccepts({{y, N(2024), "2024"},
              {y, S("2024"), "2024"},
              {y, N(1901), "1901"},
              {y, N(2155), "2155"},
              {y, N(0), "0000"},
              {y, S("0000"), "0000"}});
  RunRefuses({{y, N(1900), "out_of_range", "1901 to 2155"},
              {y, N(2156), "out_of_range", "YEAR"},
              {y, N(24), "out_of_range", "YEAR"},
              {y, S("24"), "type_mismatch", "4 digits"},
              {y, S("02024"), "type_mismatch", "YEAR"},
              {y, N(2024.5), "type_mismatch", "YEAR"},
              {y, B(true), "type_mismatch", "YEAR"}});
}

TEST(CoerceTest, Dates) {
  const v1::Column d = Col("date", "date");
  RunAccepts({{d, S("2026-11-25"), "2026-11-25"},
              {d, S("2024-02-29"), "2024-02-29"},
              {d, S("0001-01-01"), "0001-01-01"},
              {d, S("9999-12-31"), "9999-12-31"}});
  RunRefuses({{d, S("2025-02-29"), "invalid_value", "not a calendar date"},
              {d, S("2026-13-01"), "invalid_value", "month 13"},
              {d, S("2026-1-5"), "type_mismatch", "YYYY-MM-DD"},
              {d, S("2026-11-25T00:00:00Z"), "type_mismatch", "DATE"},
              {d, S("25/11/2026"), "type_mismatch", "DATE"},
              {d, N(20261125), "type_mismatch", "strings"}});
}

TEST(CoerceTest, DateTimesAndTimestamps) {
  const v1::Column dt = Col("datetime", "datetime");
  const v1::Column dt3 = Col("datetime", "datetime(3)");
  const v1::Column dt6 = Col("datetime", "datetime(6)");
  const v1::Column ts = Col("timestamp", "timestamp");
  const v1::Column ts3 = Col("timestamp", "timestamp(3)");
  RunAccepts({
      {dt, S("2026-11-25 15:01:09"), "2026-11-25 15:01:09"},
      {dt, S("2026-11-25T15:01:09"), "2026-11-25 15:01:09"},
      {dt, S("2026-11-25"), "2026-11-25 00:00:00"},
      {dt, S("2026-11-25T15:01:09Z"), "2026-11-25 15:01:09"},
      {dt, S("2026-11-25T15:01:09+05:30"), "2026-11-25 09:31:09"},
      {dt, S("2026-11-25T23:30:00-01:00"), "2026-11-26 00:30:00"},
      {dt, S("2026-11-25 15:01:09.000"), "2026-11-25 15:01:09"},
      {dt3, S("2026-11-25 15:01:09.5"), "2026-11-25 15:01:09.500"},
      {dt3, S("2026-11-25 15:01:09"), "2026-11-25 15:01:09.000"},
      {dt3, S("2026-11-25T15:01:09.123Z"), "2026-11-25 15:01:09.123"},
      {dt6, S("2026-11-25 15:01:09.123456"), "2026-11-25 15:01:09.123456"},
      {dt6, S("0001-01-01 00:00:00"), "0001-01-01 00:00:00.000000"},
      {ts, S("1970-01-01 00:00:01"), "1970-01-01 00:00:01"},
      {ts, S("2038-01-19 03:14:07"), "2038-01-19 03:14:07"},
      {ts3, S("2026-11-25T15:01:09.123Z"), "2026-11-25 15:01:09.123"},
  });
  RunRefuses({
      {dt, S("2026-11-25 15:01:09.5"), "out_of_range", "whole seconds"},
      {dt3, S("2026-11-25 15:01:09.1234"), "out_of_range",
       "3 fractional digits"},
      {dt6, S("2026-11-25 15:01:09.1234567"), "type_mismatch",
       "YYYY-MM-DD HH:MM:SS"},
      {dt, S("2026-11-25 24:00:00"), "invalid_value", "hour"},
      {dt, S("2026-02-30 10:00:00"), "invalid_value", "calendar date"},
      {dt, S("2026-11-25 15:01"), "type_mismatch", "DATETIME"},
      {dt, S("2026-11-25  15:01:09"), "type_mismatch", "DATETIME"},
      {dt, S("0001-01-01T00:30:00+01:00"), "out_of_range", "0001 to 9999"},
      {dt, N(1764082869123), "type_mismatch", "DATETIME"},
      {ts, S("1970-01-01 00:00:00"), "out_of_range", "TIMESTAMP holds"},
      {ts, S("2038-01-19 03:14:08"), "out_of_range", "TIMESTAMP"},
  });
  // An offset moves a time into (or out of) TIMESTAMP's range.
  RunAccepts({{ts, S("2038-01-19T04:14:07+01:00"), "2038-01-19 03:14:07"}});
}

TEST(CoerceTest, Times) {
  const v1::Column t = Col("time", "time");
  const v1::Column t1 = Col("time", "time(1)");
  RunAccepts({{t, S("12:34:56"), "12:34:56"},
              {t, S("5:00:00"), "05:00:00"},
              {t, S("-01:00:00"), "-01:00:00"},
              {t, S("100:00:00"), "100:00:00"},
              {t, S("838:59:59"), "838:59:59"},
              {t, S("-838:59:59"), "-838:59:59"},
              {t, S("-00:00:00"), "00:00:00"},
              {t, S("12:34:56.000"), "12:34:56"},
              {t1, S("12:34:56.5"), "12:34:56.5"},
              {t1, S("-00:00:00.5"), "-00:00:00.5"},
              {t1, S("12:34:56"), "12:34:56.0"}});
  RunRefuses({{t, S("839:00:00"), "out_of_range", "-838:59:59 to 838:59:59"},
              {t1, S("838:59:59.5"), "out_of_range", "TIME(1)"},
              {t, S("12:34:56.5"), "out_of_range", "whole seconds"},
              {t, S("12:60:00"), "invalid_value", "00-59"},
              {t, S("12:00:60"), "invalid_value", "00-59"},
              {t, S("12:34"), "type_mismatch", "[-]HH:MM:SS"},
              {t, S("1234:00:00"), "type_mismatch", "TIME"},
              {t, S("12:34:56."), "type_mismatch", "TIME"},
              {t, S("+12:34:56"), "type_mismatch", "TIME"},
              {t, S("1 12:34:56"), "type_mismatch", "TIME"},
              {t, N(3600), "type_mismatch", "TIME"}});
}

}  // namespace
}  // namespace coerce_test
}  // namespace sheetsync
