// Property test of services/common/coerce.h: random values of every type are
// either rejected (with a known code and a message naming the column) or
// accepted and then stable: CoerceToColumn -> SqlToJson -> CoerceToColumn
// gives the identical SqlValue, and the feed's JSON still means what was sent
// (never silently changed). Deterministic: a seeded std::mt19937.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/common/coerce_test_util.h"

namespace sheetsync {
namespace coerce_test {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr int kCasesPerColumn = 250;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  int Int(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  bool Chance(int percent) { return Int(0, 99) < percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Int(0, static_cast<int>(v.size()) - 1)];
  }
  std::string Digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + Int(0, 9)));
    return s;
  }
  std::string Sign() { return Pick<std::string>({"", "", "-", "+"}); }
  std::string Two(int hi) { return absl::StrFormat("%02d", Int(0, hi)); }

  double Double() {
    switch (Int(0, 3)) {
      case 0:
        return Int(-300, 300);
      case 1:
        return Int(-99999, 99999) / std::pow(10.0, Int(0, 6));
      case 2:
        return std::ldexp(Int(-(1 << 20), 1 << 20), Int(-80, 80));
      default: {
        std::uniform_int_distribution<uint64_t> bits;
        double d;
        do {
          const uint64_t b = bits(rng_);
          std::memcpy(&d, &b, sizeof d);
        } while (!std::isfinite(d));
        return d;
      }
    }
  }
  std::string Number() {
    std::string s = Sign() + Digits(Int(0, 22));
    if (Chance(50)) s += "." + Digits(Int(0, 8));
    if (Chance(10))
      s += Pick<std::string>({"e", "E"}) + Sign() + Digits(Int(0, 3));
    return s;
  }
  std::string Date() {
    const int year = Chance(50) ? Int(1965, 2045) : Int(1, 9999);
    return absl::StrCat(
        Chance(90) ? absl::StrFormat("%04d", year) : Digits(Int(2, 5)), "-",
        Two(13), "-", Two(31));
  }
  std::string Fraction() { return Chance(50) ? "" : "." + Digits(Int(0, 7)); }
  std::string DateTime() {
    std::string s = Date();
    if (Chance(85)) {
      s += Pick<std::string>({" ", "T", "t", "  "}) + Two(24) + ":" + Two(60) +
           ":" + Two(60) + Fraction();
    }
    if (Chance(30)) {
      s += Chance(40) ? Pick<std::string>({"Z", "z"})
                      : Sign() + Two(24) + ":" + Two(60);
    }
    return s;
  }
  std::string Time() {
    return Pick<std::string>({"", "-"}) + Digits(Int(1, 4)) + ":" + Two(60) +
           ":" + Two(60) + Fraction();
  }
  // Returns a short text, valid UTF-8 unless `allow_invalid`.
  std::string Text(bool allow_invalid = true) {
    static const std::vector<std::string> kPieces = {"a",
                                                     "Z",
                                                     " ",
                                                     "0",
                                                     ",",
                                                     "\xC3\xA9",
                                                     "\xE4\xB8\xAD",
                                                     "\xF0\x9F\x98\x80",
                                                     std::string(1, '\0'),
                                                     "\"",
                                                     "\n",
                                                     "\xFF"};
    std::string s;
    const int last = static_cast<int>(kPieces.size()) - (allow_invalid ? 1 : 2);
    for (int n = Int(0, 8); n > 0; --n) s += kPieces[Int(0, last)];
    return s;
  }
  std::string Members(const v1::Column& col) {
    std::vector<std::string> pool(col.enum_values().begin(),
                                  col.enum_values().end());
    pool.push_back("junk");
    pool.push_back("A");
    std::string s = Pick(pool);
    for (int n = Int(0, 3); n > 0; --n) s += "," + Pick(pool);
    return Chance(50) ? Pick(pool) : s;
  }
  // Returns a random JSON value nested at most a few levels.
  Value Json(int depth, bool allow_invalid = true) {
    Value v;
    switch (Int(0, depth > 2 ? 3 : 5)) {
      case 0:
        v.set_null_value(google::protobuf::NULL_VALUE);
        break;
      case 1:
        v.set_number_value(Double());
        break;
      case 2:
        v.set_string_value(Chance(50) ? Text(allow_invalid) : "k");
        break;
      case 3:
        v.set_bool_value(Chance(50));
        break;
      case 4:
        for (int n = Int(0, 3); n > 0; --n) {
          *v.mutable_list_value()->add_values() =
              Json(depth + 1, allow_invalid);
        }
        v.mutable_list_value();
        break;
      default:
        for (int n = Int(0, 3); n > 0; --n) {
          (*v.mutable_struct_value()->mutable_fields())[Text(allow_invalid)] =
              Json(depth + 1, allow_invalid);
        }
        v.mutable_struct_value();
    }
    return v;
  }

 private:
  std::mt19937 rng_;
};

// A random value aimed at `col`'s type, or at any type now and then.
Value RandomValue(Gen& g, const v1::Column& col) {
  const std::string& t = col.data_type();
  switch (g.Int(0, 9)) {
    case 0:
      return Null();
    case 1:
      return B(g.Chance(50));
    case 2:
      return N(g.Double());
    case 3:
      return g.Json(0);
    case 4:
      return S(g.Text());
    default:
      break;
  }
  if (t == "year") {
    return g.Chance(50) ? N(g.Int(1890, 2170))
                        : S(absl::StrCat(g.Int(1890, 2170)));
  }
  if (t == "date") return S(g.Date());
  if (t == "datetime" || t == "timestamp") return S(g.DateTime());
  if (t == "time") return S(g.Time());
  if (t == "enum" || t == "set") return S(g.Members(col));
  if (t == "json") {
    std::string text;
    (void)google::protobuf::util::MessageToJsonString(g.Json(0, false), &text);
    return S(text);
  }
  if (t.find("char") != std::string::npos ||
      t.find("text") != std::string::npos ||
      t.find("binary") != std::string::npos || t == "blob") {
    return S(g.Text());
  }
  return g.Chance(50) ? N(g.Double()) : S(g.Number());
}

std::vector<v1::Column> Columns() {
  return {
      Col("tinyint", "tinyint(1)"),
      Col("tinyint", "tinyint(4)"),
      Col("tinyint", "tinyint(3) unsigned"),
      Col("smallint", "smallint(6)"),
      Col("mediumint", "mediumint(8) unsigned"),
      Col("int", "int(11)"),
      Col("int", "int(6) unsigned zerofill"),
      Col("bigint", "bigint(20)"),
      Col("bigint", "bigint(20) unsigned"),
      Dec(5, 2),
      Dec(20, 6),
      Dec(10, 0),
      Col("float", "float"),
      Col("double", "double"),
      Col("year", "year(4)"),
      Col("date", "date"),
      Col("datetime", "datetime"),
      Col("datetime", "datetime(6)"),
      Col("timestamp", "timestamp(3)"),
      Col("time", "time"),
      Col("time", "time(2)"),
      Str("char", "char(4)", 4, 16),
      Str("varchar", "varchar(6)", 6, 18),
      Str("text", "text", 65535, 65535),
      Str("tinytext", "tinytext", 255, 12),
      Str("binary", "binary(5)", 5, 5),
      Str("varbinary", "varbinary(8)", 8, 8),
      Col("blob", "blob"),
      Enum("enum", "enum('a','b','1')", {"a", "b", "1"}),
      Enum("set", "set('a','b','c')", {"a", "b", "c"}),
      Col("json", "json"),
  };
}

// Returns a decimal string in a normal form ("-012.50" -> "-12.5").
std::string NormalDecimal(std::string s) {
  const bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.erase(0, 1);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  while (s.size() > 1 && s[0] == '0' && s[1] != '.') s.erase(0, 1);
  if (s.empty() || s[0] == '.') s.insert(0, "0");
  return (negative && s != "0" ? "-" : "") + s;
}

// Returns the bytes of a binary column's feed value (raw or base64).
std::string FeedBytes(const Value& json) {
  if (json.kind_case() == Value::kStringValue) return json.string_value();
  std::string bytes;
  EXPECT_TRUE(absl::Base64Unescape(
      json.struct_value().fields().at("base64").string_value(), &bytes));
  return bytes;
}

// Checks that the feed's `json` means what `sent` meant, where that is
// well defined for the column's type.
void ExpectSameMeaning(const v1::Column& col, const Value& sent,
                       const Value& json) {
  const std::string& t = col.data_type();
  if (t == "json" && sent.kind_case() != Value::kStringValue) {
    EXPECT_TRUE(MessageDifferencer::Equals(sent, json));
  } else if (t == "double" && sent.kind_case() == Value::kNumberValue) {
    EXPECT_EQ(json.number_value(), sent.number_value());
  } else if (t == "decimal" && sent.kind_case() == Value::kStringValue) {
    EXPECT_EQ(NormalDecimal(json.string_value()),
              NormalDecimal(sent.string_value()));
  } else if (t == "date" || t == "enum" || t == "varchar" || t == "text") {
    if (sent.kind_case() == Value::kStringValue) {
      EXPECT_EQ(json.string_value(), sent.string_value());
    }
  } else if (t == "varbinary" || t == "blob") {
    if (sent.kind_case() == Value::kStringValue) {
      EXPECT_EQ(absl::CHexEscape(FeedBytes(json)),
                absl::CHexEscape(sent.string_value()));
    }
  } else if (col.column_type() != "tinyint(1)" &&
             t.find("int") != std::string::npos &&
             sent.kind_case() == Value::kNumberValue) {
    EXPECT_EQ(json.number_value(), sent.number_value());
  }
}

TEST(CoercePropertyTest, AcceptedValuesRoundTripUnchanged) {
  const std::set<std::string> kCodes = {"type_mismatch", "out_of_range",
                                        "value_too_long", "null_not_allowed",
                                        "invalid_value"};
  Gen gen(20261125);
  int accepted = 0, rejected = 0;
  for (v1::Column col : Columns()) {
    col.set_name("col_" + col.data_type());
    col.set_nullable(gen.Chance(50));
    for (int i = 0; i < kCasesPerColumn; ++i) {
      const Value sent = RandomValue(gen, col);
      SCOPED_TRACE(col.column_type() + " <- " + sent.ShortDebugString());
      const absl::StatusOr<v1::SqlValue> first = CoerceToColumn(col, sent);
      if (!first.ok()) {
        ++rejected;
        EXPECT_EQ(kCodes.count(RejectCode(first.status())), 1u)
            << first.status();
        EXPECT_NE(first.status().message().find("`" + col.name() + "`"),
                  absl::string_view::npos);
        continue;
      }
      ++accepted;
      const Value json = SqlToJson(col, *first);
      const absl::StatusOr<v1::SqlValue> second = CoerceToColumn(col, json);
      ASSERT_TRUE(second.ok())
          << second.status() << " from " << json.ShortDebugString();
      EXPECT_EQ(second->is_null(), first->is_null());
      EXPECT_EQ(absl::CHexEscape(second->text()),
                absl::CHexEscape(first->text()));
      EXPECT_TRUE(SqlEquals(col, *first, *second));
      if (!first->is_null()) ExpectSameMeaning(col, sent, json);
    }
  }
  // Both outcomes must be well represented for the test to mean something.
  EXPECT_GT(accepted, 2000);
  EXPECT_GT(rejected, 2000);
}

}  // namespace
}  // namespace coerce_test
}  // namespace sheetsync
