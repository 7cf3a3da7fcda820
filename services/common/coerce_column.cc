// Classification of a column's type from its information_schema fields.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/coerce_internal.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

struct NamedKind {
  absl::string_view name;
  Kind kind;
  int bits_or_bytes;  // integers: width in bits; *TEXT/*BLOB: byte limit log2
};

// data_type (information_schema, lower case; a few SQL aliases) -> Kind.
constexpr NamedKind kKinds[] = {
    {"tinyint", Kind::kInt, 8},
    {"smallint", Kind::kInt, 16},
    {"mediumint", Kind::kInt, 24},
    {"int", Kind::kInt, 32},
    {"integer", Kind::kInt, 32},
    {"bigint", Kind::kInt, 64},
    {"bool", Kind::kBool, 8},
    {"boolean", Kind::kBool, 8},
    {"decimal", Kind::kDecimal, 0},
    {"numeric", Kind::kDecimal, 0},
    {"float", Kind::kFloat, 0},
    {"double", Kind::kDouble, 0},
    {"real", Kind::kDouble, 0},
    {"double precision", Kind::kDouble, 0},
    {"year", Kind::kYear, 0},
    {"date", Kind::kDate, 0},
    {"datetime", Kind::kDateTime, 0},
    {"timestamp", Kind::kTimestamp, 0},
    {"time", Kind::kTime, 0},
    {"char", Kind::kChar, 0},
    {"varchar", Kind::kVarchar, 0},
    {"tinytext", Kind::kText, 8},
    {"text", Kind::kText, 16},
    {"mediumtext", Kind::kText, 24},
    {"longtext", Kind::kText, 32},
    {"binary", Kind::kBinary, 0},
    {"varbinary", Kind::kVarbinary, 0},
    {"tinyblob", Kind::kBlob, 8},
    {"blob", Kind::kBlob, 16},
    {"mediumblob", Kind::kBlob, 24},
    {"longblob", Kind::kBlob, 32},
    {"enum", Kind::kEnum, 0},
    {"set", Kind::kSet, 0},
    {"json", Kind::kJson, 0},
    {"uuid", Kind::kUuid, 0},
};

// Returns the numbers in the first "(...)" of `column_type`: "decimal(5,2)"
// gives {5, 2}; none (or not numbers, as in enum(...)) gives {}.
std::vector<uint64_t> ParenNumbers(absl::string_view column_type) {
  const size_t open = column_type.find('(');
  const size_t close = column_type.find(')', open);
  if (open == absl::string_view::npos || close == absl::string_view::npos) {
    return {};
  }
  std::vector<uint64_t> out;
  for (absl::string_view part :
       absl::StrSplit(column_type.substr(open + 1, close - open - 1), ',')) {
    uint64_t n;
    if (!absl::SimpleAtoi(part, &n)) return {};
    out.push_back(n);
  }
  return out;
}

// Parses the members of "enum('a','it''s')" / "set(...)".
std::vector<std::string> ParseMembers(absl::string_view column_type) {
  std::vector<std::string> out;
  size_t i = column_type.find('(');
  while (i != absl::string_view::npos && i + 1 < column_type.size()) {
    i = column_type.find('\'', i + 1);
    if (i == absl::string_view::npos) break;
    std::string member;
    for (++i; i < column_type.size(); ++i) {
      if (column_type[i] != '\'') {
        member.push_back(column_type[i]);
      } else if (i + 1 < column_type.size() && column_type[i + 1] == '\'') {
        member.push_back('\'');
        ++i;
      } else {
        break;
      }
    }
    out.push_back(std::move(member));
  }
  return out;
}

uint64_t ArgOr(const std::vector<uint64_t>& args, size_t i, uint64_t dflt) {
  return i < args.size() ? args[i] : dflt;
}

void SetIntegerRange(int bits, ColumnType* t) {
  const uint64_t all = std::numeric_limits<uint64_t>::max() >> (64 - bits);
  t->max_positive = t->is_unsigned ? all : all >> 1;
  t->max_negative = t->is_unsigned ? 0 : (all >> 1) + 1;
}

std::string MemberList(const std::vector<std::string>& members) {
  return absl::StrJoin(members, ",",
                       [](std::string* out, const std::string& m) {
                         absl::StrAppend(out, "'", m, "'");
                       });
}

std::string Label(const ColumnType& t, absl::string_view data_type) {
  const std::string upper = absl::AsciiStrToUpper(data_type);
  const absl::string_view sign = t.is_unsigned ? " UNSIGNED" : "";
  switch (t.kind) {
    case Kind::kBool:
      return "BOOLEAN";
    case Kind::kInt:
    case Kind::kFloat:
    case Kind::kDouble:
      return absl::StrCat(upper == "INTEGER" ? "INT" : upper, sign);
    case Kind::kDecimal:
      return absl::StrFormat("DECIMAL(%d,%d)%s", t.precision, t.scale, sign);
    case Kind::kDateTime:
    case Kind::kTimestamp:
    case Kind::kTime:
      return t.fsp == 0 ? upper : absl::StrFormat("%s(%d)", upper, t.fsp);
    case Kind::kChar:
    case Kind::kVarchar:
    case Kind::kBinary:
    case Kind::kVarbinary:
      return absl::StrFormat("%s(%d)", upper, t.max_length);
    case Kind::kEnum:
    case Kind::kSet:
      return absl::StrCat(upper, "(", MemberList(t.members), ")");
    default:
      return upper;
  }
}

// Fills the length limits of string and binary types.
void FillLengths(const v1::Column& col, const std::vector<uint64_t>& args,
                 int width, ColumnType* t) {
  switch (t->kind) {
    case Kind::kChar:
    case Kind::kVarchar:
      t->max_length =
          col.max_chars() != 0 ? col.max_chars() : ArgOr(args, 0, 0);
      t->utf8mb3 =
          col.max_chars() != 0 && col.max_bytes() == 3 * col.max_chars();
      break;
    case Kind::kBinary:
    case Kind::kVarbinary:
      t->max_length = col.max_bytes() != 0   ? col.max_bytes()
                      : col.max_chars() != 0 ? col.max_chars()
                                             : ArgOr(args, 0, 0);
      break;
    default:  // *TEXT, *BLOB: 2^width - 1 bytes unless the schema says
      t->max_length =
          col.max_bytes() != 0
              ? col.max_bytes()
              : std::numeric_limits<uint64_t>::max() >> (64 - width);
      t->single_byte = col.max_bytes_per_char() == 1;
  }
}

// Fills what the kind needs beyond its name: ranges, precision, fsp,
// lengths, members.
void FillDetails(const v1::Column& col, const std::vector<uint64_t>& args,
                 int width, ColumnType* t) {
  switch (t->kind) {
    case Kind::kBool:
    case Kind::kInt:
      SetIntegerRange(width, t);
      if (absl::StrContains(absl::AsciiStrToLower(col.column_type()),
                            "zerofill")) {
        // MySQL caps display widths at 255.
        t->zerofill_width =
            static_cast<int>(std::min<uint64_t>(ArgOr(args, 0, 0), 255));
      }
      break;
    case Kind::kDecimal:
      t->precision = col.numeric_precision() != 0
                         ? col.numeric_precision()
                         : static_cast<int>(ArgOr(args, 0, 10));
      t->scale = col.numeric_precision() != 0
                     ? col.numeric_scale()
                     : static_cast<int>(ArgOr(args, 1, 0));
      break;
    case Kind::kDateTime:
    case Kind::kTimestamp:
    case Kind::kTime:
      t->fsp = static_cast<int>(std::min<uint64_t>(ArgOr(args, 0, 0), 6));
      break;
    case Kind::kChar:
    case Kind::kVarchar:
    case Kind::kBinary:
    case Kind::kVarbinary:
    case Kind::kText:
    case Kind::kBlob:
      FillLengths(col, args, width, t);
      break;
    case Kind::kEnum:
    case Kind::kSet:
      t->members.assign(col.enum_values().begin(), col.enum_values().end());
      if (t->members.empty()) t->members = ParseMembers(col.column_type());
      break;
    default:
      break;
  }
}

}  // namespace

ColumnType ClassifyColumn(const v1::Column& col) {
  const std::string data_type = absl::AsciiStrToLower(col.data_type());
  const std::string column_type = absl::AsciiStrToLower(col.column_type());
  ColumnType t;
  int width = 0;
  for (const NamedKind& k : kKinds) {
    if (k.name == data_type) {
      t.kind = k.kind;
      width = k.bits_or_bytes;
    }
  }
  if (t.kind == Kind::kInt && absl::StartsWith(column_type, "tinyint(1)")) {
    t.kind = Kind::kBool;
  }
  t.is_unsigned =
      col.is_unsigned() || absl::StrContains(column_type, "unsigned");
  FillDetails(col, ParenNumbers(column_type), width, &t);
  t.label = Label(t, t.kind == Kind::kUnsupported && !column_type.empty()
                         ? column_type
                         : data_type);
  return t;
}

bool CanHoldEmptyString(const ColumnType& type) {
  switch (type.kind) {
    case Kind::kChar:
    case Kind::kVarchar:
    case Kind::kText:
    case Kind::kBinary:
    case Kind::kVarbinary:
    case Kind::kBlob:
    case Kind::kSet:
      return true;
    case Kind::kEnum:
      for (const std::string& m : type.members) {
        if (m.empty()) return true;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace coerce_internal
}  // namespace sheetsync
