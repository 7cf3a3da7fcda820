// Tests of SqlToJson, ImplicitDefault and SqlEquals (services/common/coerce.h).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/common/coerce_test_util.h"

namespace sheetsync {
namespace coerce_test {
namespace {

std::string ToJsonText(const v1::Column& col, const v1::SqlValue& v) {
  std::string out;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(SqlToJson(col, v), &out)
          .ok());
  return out;
}

TEST(SqlToJsonTest, MapsEveryTypeLosslessly) {
  const struct {
    v1::Column col;
    v1::SqlValue value;
    std::string json;
  } kCases[] = {
      {Col("int", "int(11)"), SqlNull(), "null"},
      {Col("int", "int(11)"), Sql("-42"), "-42"},
      {Col("bigint", "bigint(20)"), Sql("9007199254740991"),
       "9007199254740991"},
      {Col("bigint", "bigint(20)"), Sql("-9007199254740991"),
       "-9007199254740991"},
      {Col("bigint", "bigint(20)"), Sql("9007199254740992"),
       "\"9007199254740992\""},
      {Col("bigint", "bigint(20)"), Sql("9007199254740993"),
       "\"9007199254740993\""},
      {Col("bigint", "bigint(20) unsigned"), Sql("18446744073709551615"),
       "\"18446744073709551615\""},
      {Col("int", "int(5) unsigned zerofill"), Sql("00042"), "42"},
      {Col("tinyint", "tinyint(1)"), Sql("1"), "true"},
      {Col("tinyint", "tinyint(1)"), Sql("0"), "false"},
      {Col("tinyint", "tinyint(1)"), Sql("5"), "5"},
      {Dec(5, 2), Sql("12.30"), "\"12.30\""},
      {Dec(5, 2), Sql("12.3"), "\"12.30\""},  // canonicalised
      {Col("double", "double"), Sql("0.1"), "0.1"},
      {Col("double", "double"), Sql("1e15"), "1e+15"},
      {Col("float", "float"), Sql("1.23457"), "1.23457"},
      {Col("year", "year(4)"), Sql("2024"), "2024"},
      {Col("date", "date"), Sql("2026-11-25"), "\"2026-11-25\""},
      {Col("datetime", "datetime(3)"), Sql("2026-11-25 15:01:09"),
       "\"2026-11-25 15:01:09.000\""},  // binary protocol drops zero fraction
      {Col("time", "time"), Sql("-01:00:00"), "\"-01:00:00\""},
      {Str("varchar", "varchar(5)", 5, 20), Sql("42"), "\"42\""},
      {Enum("set", "set('a','b')", {"a", "b"}), Sql("a,b"), "\"a,b\""},
      {Col("json", "json"), Sql("{\"a\": [1, 2]}"), "{\"a\":[1,2]}"},
      {Col("json", "json"), Sql("42"), "42"},
      {Col("json", "json"), Sql("\"x\""), "\"\\\"x\\\"\""},
      {Col("json", "json"), Sql("null"), "\"null\""},
      {Col("json", "json"), Sql("not json"), "\"not json\""},
      {Str("varbinary", "varbinary(4)", 4, 4), Sql("ab"), "\"ab\""},
      {Str("varbinary", "varbinary(4)", 4, 4), Sql("\xFF\xFE"),
       "{\"base64\":\"//4=\"}"},
      {Col("bit", "bit(8)"), Sql("\x80"), "{\"base64\":\"gA==\"}"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.col.column_type() + " " + c.value.ShortDebugString());
    EXPECT_EQ(ToJsonText(c.col, c.value), c.json);
  }
}

TEST(ImplicitDefaultTest, NullWhenNullableElseTheTypeZero) {
  EXPECT_TRUE(ImplicitDefault(Col("int", "int(11)")).is_null());
  const struct {
    v1::Column col;
    std::string text;
  } kCases[] = {
      {Col("int", "int(11)"), "0"},
      {Col("int", "int(5) unsigned zerofill"), "00000"},
      {Col("tinyint", "tinyint(1)"), "0"},
      {Dec(5, 2), "0.00"},
      {Dec(5, 0), "0"},
      {Col("double", "double"), "0"},
      {Col("year", "year(4)"), "0000"},
      {Col("date", "date"), "1970-01-01"},
      {Col("datetime", "datetime"), "1970-01-01 00:00:00"},
      {Col("datetime", "datetime(3)"), "1970-01-01 00:00:00.000"},
      {Col("timestamp", "timestamp(6)"), "1970-01-01 00:00:01.000000"},
      {Col("time", "time(2)"), "00:00:00.00"},
      {Str("varchar", "varchar(5)", 5, 20), ""},
      {Col("text", "text"), ""},
      {Str("binary", "binary(3)", 3, 3), std::string(3, '\0')},
      {Enum("enum", "enum('x','y')", {"x", "y"}), "x"},
      {Enum("set", "set('x','y')", {"x", "y"}), ""},
      {Col("json", "json"), "null"},
      {Col("uuid", "uuid"), "00000000-0000-0000-0000-000000000000"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.col.column_type());
    const v1::Column col = NotNull(c.col);
    const v1::SqlValue got = ImplicitDefault(col);
    EXPECT_FALSE(got.is_null());
    EXPECT_EQ(got.text(), c.text);
    // Every implicit default is itself a value the column accepts.
    absl::StatusOr<v1::SqlValue> back =
        CoerceToColumn(col, SqlToJson(col, got));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->text(), c.text);
  }
}

TEST(SqlEqualsTest, ComparesCanonicalForms) {
  const v1::Column dec = Dec(5, 2);
  const v1::Column dt3 = Col("datetime", "datetime(3)");
  const v1::Column vc = Str("varchar", "varchar(5)", 5, 20);
  const v1::Column json = Col("json", "json");
  const v1::Column dbl = Col("double", "double");
  EXPECT_TRUE(SqlEquals(dec, Sql("12.3"), Sql("12.30")));
  EXPECT_FALSE(SqlEquals(dec, Sql("12.3"), Sql("12.31")));
  EXPECT_TRUE(SqlEquals(dt3, Sql("2026-11-25 15:01:09"),
                        Sql("2026-11-25 15:01:09.000")));
  EXPECT_TRUE(SqlEquals(dbl, Sql("0.1"), Sql("0.10000000000000001")));
  EXPECT_TRUE(SqlEquals(json, Sql("{\"a\":1}"), Sql("{\"a\": 1}")));
  EXPECT_FALSE(SqlEquals(json, Sql("{\"a\":1}"), Sql("{\"a\":2}")));
  EXPECT_FALSE(SqlEquals(vc, Sql("a"), Sql("A")));
  EXPECT_FALSE(SqlEquals(vc, Sql("a"), Sql("a ")));
  EXPECT_TRUE(SqlEquals(vc, SqlNull(), SqlNull()));
  EXPECT_FALSE(SqlEquals(vc, SqlNull(), Sql("")));
  EXPECT_FALSE(SqlEquals(vc, Sql(""), SqlNull()));
  // Text that does not parse is compared byte for byte.
  EXPECT_TRUE(SqlEquals(dt3, Sql("0000-00-00"), Sql("0000-00-00")));
  EXPECT_FALSE(SqlEquals(dt3, Sql("0000-00-00"), Sql("garbage")));
}

}  // namespace
}  // namespace coerce_test
}  // namespace sheetsync
