// Coercion of CHAR, VARCHAR, *TEXT, BINARY, VARBINARY, *BLOB, ENUM, SET and
// UUID values.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/coerce_internal.h"
#include "services/common/ids.h"
#include "services/common/status_macros.h"

namespace sheetsync {
namespace coerce_internal {
namespace {

using google::protobuf::Value;

bool IsBinary(Kind kind) {
  return kind == Kind::kBinary || kind == Kind::kVarbinary ||
         kind == Kind::kBlob;
}

// Decodes {"base64": "..."}, the form SqlToJson gives non-UTF-8 bytes.
absl::StatusOr<std::string> DecodeBase64Object(const Target& t,
                                               const Value& v) {
  const auto& fields = v.struct_value().fields();
  const auto it = fields.find("base64");
  std::string bytes;
  if (fields.size() != 1 || it == fields.end() ||
      it->second.kind_case() != Value::kStringValue) {
    return ValueError("type_mismatch", t, v,
                      "binary columns take a string or {\"base64\": \"...\"}");
  }
  if (!absl::Base64Unescape(it->second.string_value(), &bytes)) {
    return ValueError("invalid_value", t, v, "not valid base64");
  }
  return bytes;
}

// Returns the text a scalar stores in a string column.
absl::StatusOr<std::string> ScalarText(const Target& t, const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      return v.string_value();
    case Value::kNumberValue:
      return FormatJsonNumber(v.number_value());
    case Value::kBoolValue:
      return std::string(v.bool_value() ? "true" : "false");
    case Value::kStructValue:
      if (IsBinary(t.type.kind)) return DecodeBase64Object(t, v);
      return ValueError("type_mismatch", t, v);
    default:
      return ValueError("type_mismatch", t, v);
  }
}

size_t Utf8Chars(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool HasFourByteChar(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0xF0) return true;
  }
  return false;
}

absl::StatusOr<std::string> CheckText(const Target& t, const Value& v,
                                      std::string text) {
  if (!IsValidUtf8(text)) {
    return ValueError("invalid_value", t, v, "not valid UTF-8");
  }
  if (t.type.kind == Kind::kChar && !text.empty() && text.back() == ' ') {
    return ValueError("invalid_value", t, v,
                      "CHAR columns drop trailing spaces; remove them");
  }
  if (t.type.utf8mb3 && HasFourByteChar(text)) {
    return ValueError("invalid_value", t, v,
                      "the column's utf8mb3 character set cannot store "
                      "characters beyond U+FFFF such as emoji");
  }
  // A TEXT column's limit is in bytes of its character set: UTF-8's for
  // utf8mb3/utf8mb4, one per character for latin1 and the like (a
  // character it lacks is MySQL's to refuse).
  const bool in_bytes = t.type.kind == Kind::kText && !t.type.single_byte;
  const uint64_t length = in_bytes ? text.size() : Utf8Chars(text);
  if (length > t.type.max_length) {
    return ValueError(
        "value_too_long", t, v,
        absl::StrCat(length, in_bytes ? " bytes" : " characters",
                     "; the column holds at most ", t.type.max_length));
  }
  return text;
}

absl::StatusOr<std::string> CheckBytes(const Target& t, const Value& v,
                                       std::string bytes) {
  if (bytes.size() > t.type.max_length) {
    return ValueError(
        "value_too_long", t, v,
        absl::StrCat(bytes.size(), " bytes; the column holds at most ",
                     t.type.max_length));
  }
  if (t.type.kind == Kind::kBinary) bytes.resize(t.type.max_length, '\0');
  return bytes;
}

// Returns the index of `member` in the column's members, or -1.
int MemberIndex(const ColumnType& type, absl::string_view member) {
  for (size_t i = 0; i < type.members.size(); ++i) {
    if (type.members[i] == member) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::string> CheckEnum(const Target& t, const Value& v,
                                      std::string text) {
  if (MemberIndex(t.type, text) < 0) {
    return ValueError("invalid_value", t, v,
                      "not a member; members match case-sensitively");
  }
  return text;
}

absl::StatusOr<std::string> CheckSet(const Target& t, const Value& v,
                                     const std::string& text) {
  if (text.empty()) return text;
  std::vector<bool> present(t.type.members.size(), false);
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const int i = MemberIndex(t.type, part);
    if (i < 0) {
      return ValueError(
          "invalid_value", t, v,
          absl::StrCat(QuoteForMessage(part), " is not a member"));
    }
    present[i] = true;
  }
  std::vector<absl::string_view> out;
  for (size_t i = 0; i < present.size(); ++i) {
    if (present[i]) out.push_back(t.type.members[i]);
  }
  return absl::StrJoin(out, ",");
}

}  // namespace

absl::StatusOr<std::string> CoerceString(const Target& t, const Value& v) {
  ASSIGN_OR_RETURN(std::string text, ScalarText(t, v));
  switch (t.type.kind) {
    case Kind::kBinary:
    case Kind::kVarbinary:
    case Kind::kBlob:
      return CheckBytes(t, v, std::move(text));
    case Kind::kEnum:
      return CheckEnum(t, v, std::move(text));
    case Kind::kSet:
      return CheckSet(t, v, text);
    case Kind::kUuid: {
      absl::StatusOr<std::string> uuid = NormalizeRowId(text);
      if (!uuid.ok()) return ValueError("invalid_value", t, v, "not a UUID");
      return uuid;
    }
    default:
      return CheckText(t, v, std::move(text));
  }
}

}  // namespace coerce_internal
}  // namespace sheetsync
