// Table-driven tests of services/common/coerce.h for string, binary, ENUM,
// SET, JSON, UUID and unsupported columns.
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/common/coerce_test_util.h"

namespace sheetsync {
namespace coerce_test {
namespace {

const std::string kEmoji = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes

TEST(CoerceTextTest, CharAndVarchar) {
  const v1::Column vc = Str("varchar", "varchar(5)", 5, 20);
  const v1::Column mb3 = Str("varchar", "varchar(5)", 5, 15);
  const v1::Column ch = Str("char", "char(5)", 5, 20);
  RunAccepts({
      {vc, S("hello"), "hello"},
      {vc, S("h\xC3\xA9llo"), "h\xC3\xA9llo"},  // 5 characters, 6 bytes
      {vc, S(kEmoji + kEmoji), kEmoji + kEmoji},
      {vc, S(std::string("a\0b", 3)), std::string("a\0b", 3)},
      {vc, S("a "), "a "},
      {vc, N(42), "42"},
      {vc, N(-0.5), "-0.5"},
      {vc, N(1e21), "1e21"},
      {vc, B(true), "true"},
      {vc, B(false), "false"},
      {mb3, S("h\xC3\xA9"), "h\xC3\xA9"},
      {ch, S(" ab"), " ab"},
      {Col("varchar", "varchar(3)"), S("abc"), "abc"},  // from column_type
  });
  RunRefuses({
      {vc, S("hello!"), "value_too_long",
       "6 characters; the column holds at most 5"},
      {vc, S("\xFF"), "invalid_value", "got \"\\xff\" (not valid UTF-8)"},
      {vc, S("\xC0\xAF"), "invalid_value", "UTF-8"},          // overlong
      {vc, S("\xED\xA0\x80"), "invalid_value", "UTF-8"},      // surrogate
      {vc, S("\xF4\x90\x80\x80"), "invalid_value", "UTF-8"},  // > U+10FFFF
      {vc, S("\xE2\x82"), "invalid_value", "UTF-8"},          // truncated
      {mb3, S(kEmoji), "invalid_value", "utf8mb3"},
      {ch, S("ab "), "invalid_value", "trailing spaces"},
      {vc, J("{\"a\":1}"), "type_mismatch",
       "expects VARCHAR(5); got an object"},
      {vc, J("[1]"), "type_mismatch", "got an array"},
  });
}

TEST(CoerceTextTest, MessagesShowAShortPrefixOfLongValues) {
  const absl::StatusOr<v1::SqlValue> got =
      CoerceToColumn(Str("varchar", "varchar(5)", 5, 20),
                     S(std::string(39, 'a') + "\xC3\xA9" + "tail"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(RejectCode(got.status()), "value_too_long");
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::HasSubstr("got \"" + std::string(39, 'a') + "...\""));
}

TEST(CoerceTextTest, TextCountsBytes) {
  const v1::Column tiny = Str("tinytext", "tinytext", 255, 255);
  RunAccepts({{tiny, S(std::string(255, 'a')), std::string(255, 'a')},
              {Col("text", "text"), S("x"), "x"}});
  std::string e128;
  for (int i = 0; i < 128; ++i) e128 += "\xC3\xA9";  // 128 chars, 256 bytes
  RunRefuses({{tiny, S(e128), "value_too_long", "256 bytes"},
              {tiny, S(std::string(256, 'a')), "value_too_long", "TINYTEXT"},
              {Col("tinytext", "tinytext"), S(std::string(256, 'a')),
               "value_too_long", "at most 255"}});
  // In a one-byte character set (latin1) each character takes one byte.
  v1::Column latin1 = Str("tinytext", "tinytext", 255, 255);
  latin1.set_max_bytes_per_char(1);
  std::string e255, e256;
  for (int i = 0; i < 255; ++i) e255 += "\xC3\xA9";
  e256 = e255 + "\xC3\xA9";
  RunAccepts({{latin1, S(e255), e255}});
  RunRefuses({{latin1, S(e256), "value_too_long", "256 characters"}});
}

TEST(CoerceTextTest, BinaryTypesTakeBytes) {
  const v1::Column bin = Str("binary", "binary(4)", 4, 4);
  const v1::Column vb = Str("varbinary", "varbinary(4)", 4, 4);
  RunAccepts({
      {bin, S("ab"), std::string("ab\0\0", 4)},
      {bin, S(""), std::string(4, '\0')},
      {vb, S("\xFF\xFE"), "\xFF\xFE"},
      {vb, S(""), ""},
      {vb, J("{\"base64\":\"//4=\"}"), "\xFF\xFE"},
      {vb, N(12), "12"},
      {Col("blob", "blob"), S(std::string("\x00\x01", 2)),
       std::string("\x00\x01", 2)},
  });
  RunRefuses({
      {bin, S("abcde"), "value_too_long",
       "5 bytes; the column holds at most 4"},
      {vb, S("\xC3\xA9\xC3\xA9\xC3\xA9"), "value_too_long", "VARBINARY(4)"},
      {vb, J("{\"base64\":\"!!\"}"), "invalid_value", "not valid base64"},
      {vb, J("{\"bytes\":\"AA==\"}"), "type_mismatch", "base64"},
      {vb, J("[1]"), "type_mismatch", "VARBINARY(4)"},
  });
}

TEST(CoerceTextTest, EnumsAndSets) {
  const v1::Column e = Enum("enum", "enum('a','b','c')", {"a", "b", "c"});
  const v1::Column parsed = Col("enum", "enum('x','it''s','y,z')");
  const v1::Column numbers = Enum("enum", "enum('1','2')", {"1", "2"});
  const v1::Column set = Enum("set", "set('a','b','c')", {"a", "b", "c"});
  RunAccepts({
      {e, S("b"), "b"},
      {parsed, S("it's"), "it's"},
      {parsed, S("y,z"), "y,z"},
      {numbers, N(1), "1"},
      {set, S("c,a"), "a,c"},
      {set, S("a,a,b"), "a,b"},
      {set, S(""), ""},
      {Col("set", "set('p','q')"), S("q,p"), "p,q"},
  });
  RunRefuses({
      {e, S("A"), "invalid_value", "expects ENUM('a','b','c'); got \"A\""},
      {e, S("d"), "invalid_value", "not a member"},
      {e, N(1), "invalid_value", "ENUM"},
      {e, J("{}"), "type_mismatch", "ENUM"},
      {set, S("d"), "invalid_value", "\"d\" is not a member"},
      {set, S("a, b"), "invalid_value", "\" b\" is not a member"},
      {set, S("a,"), "invalid_value", "\"\" is not a member"},
      {set, S("a,\xFF"), "invalid_value", "\"\\xff\" is not a member"},
  });
}

TEST(CoerceTextTest, Json) {
  const v1::Column j = Col("json", "json");
  RunAccepts({
      {j, S("{\"b\":1,\"a\":[1,2]}"), "{\"a\": [1, 2], \"b\": 1}"},
      {j, S("{\"bb\":1,\"a\":2,\"c\":{}}"), "{\"a\": 2, \"c\": {}, \"bb\": 1}"},
      {j, J("{\"x\":[true,null,\"s\"]}"), "{\"x\": [true, null, \"s\"]}"},
      {j, J("[]"), "[]"},
      {j, N(42), "42"},
      {j, N(0.5), "0.5"},
      {j, B(true), "true"},
      {j, S("\"x\""), "\"x\""},
      {j, S("null"), "null"},
      {j, S(" [0.1, 1e2, 1.50, -0] "), "[0.1, 100, 1.5, 0]"},
      {j, S("\"a\\nb\\u0001\\\"\""), "\"a\\nb\\u0001\\\"\""},
      {j, S("[9007199254740992.0e0, 1.7976931348623157e308]"),
       "[9007199254740992, 1.7976931348623157e308]"},
  });
  RunRefuses({
      {j, S("not json"), "invalid_value", "not valid JSON"},
      {j, S("{\"a\":1} x"), "invalid_value", "not valid JSON"},
      {j, S("{\"a\":1,\"a\":2}"), "invalid_value", "not valid JSON"},
      {j, S("12345678901234567890"), "invalid_value",
       "the number 12345678901234567890 cannot be stored exactly"},
      {j, S("[0.1000000000000000000001]"), "invalid_value", "exactly"},
      {j, S("{\"n\": 9007199254740993}"), "invalid_value", "exactly"},
      {j, S("\"\xFF\""), "invalid_value", "UTF-8"},
      // 1e400 (the gateway reads it as infinity), alone or inside a value.
      {j, N(std::numeric_limits<double>::infinity()), "out_of_range",
       "beyond a double's range"},
      {j,
       [] {
         Value v = J("{\"a\":[1]}");
         (*v.mutable_struct_value()->mutable_fields())["a"]
             .mutable_list_value()
             ->add_values()
             ->set_number_value(-std::numeric_limits<double>::infinity());
         return v;
       }(),
       "out_of_range", "beyond a double's range"},
      // 9007199254740993 as a JSON number (the gateway marks it).
      {j,
       [] {
         Value v = J("{\"n\":1}");
         (*v.mutable_struct_value()->mutable_fields())["n"].set_number_value(
             InexactJsonNumber());
         return v;
       }(),
       "out_of_range", "more digits than a double holds exactly"},
  });
}

TEST(CoerceTextTest, UuidAndUnsupported) {
  const v1::Column u = Col("uuid", "uuid");
  RunAccepts({{u, S("4F1C2D9E-3B7A-4C51-9E0F-1A2B3C4D5E6F"),
               "4f1c2d9e-3b7a-4c51-9e0f-1a2b3c4d5e6f"}});
  RunRefuses(
      {{u, S("4f1c2d9e"), "invalid_value", "not a UUID"},
       {Col("bit", "bit(1)"), N(1), "type_mismatch",
        "expects BIT(1); got 1 (sheetsync cannot write this column "
        "type)"},
       {Col("point", "point"), S("POINT(1 1)"), "type_mismatch", "POINT"}});
}

}  // namespace
}  // namespace coerce_test
}  // namespace sheetsync
