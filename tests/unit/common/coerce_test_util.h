// Helpers for the table-driven tests of services/common/coerce.h: columns
// as the writer fills them from information_schema, JSON values, and runners
// that assert the canonical text or the reject code and message.
#ifndef SHEETSYNC_TESTS_UNIT_COMMON_COERCE_TEST_UTIL_H_
#define SHEETSYNC_TESTS_UNIT_COMMON_COERCE_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "services/common/coerce.h"
#include "services/common/reject.h"

namespace sheetsync {
namespace coerce_test {

using ::google::protobuf::Value;

// --- Columns, as the writer fills them from information_schema ---

inline v1::Column Col(const std::string& data_type,
                      const std::string& column_type) {
  v1::Column c;
  c.set_name("c");
  c.set_data_type(data_type);
  c.set_column_type(column_type);
  c.set_nullable(true);
  c.set_is_unsigned(column_type.find("unsigned") != std::string::npos);
  return c;
}

inline v1::Column Str(const std::string& data_type,
                      const std::string& column_type, uint64_t max_chars,
                      uint64_t max_bytes) {
  v1::Column c = Col(data_type, column_type);
  c.set_max_chars(max_chars);
  c.set_max_bytes(max_bytes);
  return c;
}

inline v1::Column Dec(int precision, int scale) {
  v1::Column c = Col("decimal", "decimal(" + std::to_string(precision) + "," +
                                    std::to_string(scale) + ")");
  c.set_numeric_precision(precision);
  c.set_numeric_scale(scale);
  return c;
}

inline v1::Column Enum(const std::string& data_type,
                       const std::string& column_type,
                       std::vector<std::string> members) {
  v1::Column c = Col(data_type, column_type);
  for (auto& m : members) c.add_enum_values(m);
  return c;
}

inline v1::Column NotNull(v1::Column c) {
  c.set_nullable(false);
  return c;
}

// --- JSON values ---

inline Value J(const std::string& json) {
  Value v;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &v).ok())
      << json;
  return v;
}
inline Value S(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
inline Value N(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}
inline Value B(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}
inline Value Null() { return J("null"); }

inline v1::SqlValue Sql(const std::string& text) {
  v1::SqlValue v;
  v.set_text(text);
  return v;
}
inline v1::SqlValue SqlNull() {
  v1::SqlValue v;
  v.set_is_null(true);
  return v;
}

inline constexpr const char* kNull = "\x01NULL";  // expected: SQL NULL

struct Accept {
  v1::Column col;
  Value in;
  std::string out;  // canonical text, or kNull
};

struct Refuse {
  v1::Column col;
  Value in;
  const char* code;
  const char* message_part;
};

inline void RunAccepts(const std::vector<Accept>& cases) {
  for (const Accept& c : cases) {
    SCOPED_TRACE(c.col.column_type() + " <- " + c.in.ShortDebugString());
    absl::StatusOr<v1::SqlValue> got = CoerceToColumn(c.col, c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    if (c.out == kNull) {
      EXPECT_TRUE(got->is_null());
    } else {
      EXPECT_FALSE(got->is_null());
      EXPECT_EQ(got->text(), c.out);
    }
  }
}

inline void RunRefuses(const std::vector<Refuse>& cases) {
  for (const Refuse& c : cases) {
    SCOPED_TRACE(c.col.column_type() + " <- " + c.in.ShortDebugString());
    absl::StatusOr<v1::SqlValue> got = CoerceToColumn(c.col, c.in);
    ASSERT_FALSE(got.ok()) << got->ShortDebugString();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(RejectCode(got.status()), c.code) << got.status();
    EXPECT_THAT(std::string(got.status().message()),
                ::testing::HasSubstr(c.message_part));
    EXPECT_THAT(std::string(got.status().message()),
                ::testing::HasSubstr("`c`"));
  }
}

}  // namespace coerce_test
}  // namespace sheetsync

#endif  // SHEETSYNC_TESTS_UNIT_COMMON_COERCE_TEST_UTIL_H_
