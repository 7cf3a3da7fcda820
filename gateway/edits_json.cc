#include "gateway/edits_json.h"

#include "absl/strings/str_cat.h"
#include "gateway/json_syntax.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sheetsync::gateway {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr size_t kMaxSpreadsheetIdChars = 255;
// Deeper bodies are refused before protobuf (whose own limit depends on
// the shape) parses them.
constexpr int kMaxJsonDepth = 32;

size_t Utf8Chars(absl::string_view text) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return chars;
}

}  // namespace

absl::StatusOr<v1::SubmitRequest> ParseEditsBody(absl::string_view body) {
  if (absl::Status syntax = CheckJsonSyntax(body, kMaxJsonDepth);
      !syntax.ok()) {
    return syntax;
  }
  Struct root;
  google::protobuf::util::JsonParseOptions options;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &root, options);
  if (!parsed.ok()) {
    // Valid JSON that is not I-JSON (RFC 7493): a duplicate name, a number
    // beyond a double, or not an object at all.
    return absl::InvalidArgumentError(absl::StrCat(
        "the body must be a JSON object: {\"table\": ..., \"changes\": "
        "[...]}, without duplicate names or numbers beyond 1.8e308 (",
        std::string(parsed.message()), ")"));
  }
  auto& fields = *root.mutable_fields();
  auto table = fields.find("table");
  if (table == fields.end() || table->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError("\"table\" must be a string");
  }
  auto changes = fields.find("changes");
  if (changes == fields.end() ||
      changes->second.kind_case() != Value::kListValue) {
    return absl::InvalidArgumentError("\"changes\" must be an array of objects");
  }
  v1::SubmitRequest request;
  auto spreadsheet = fields.find("spreadsheet_id");
  if (spreadsheet != fields.end()) {
    if (spreadsheet->second.kind_case() != Value::kStringValue ||
        Utf8Chars(spreadsheet->second.string_value()) > kMaxSpreadsheetIdChars) {
      return absl::InvalidArgumentError(
          "\"spreadsheet_id\" must be a string of at most 255 characters");
    }
    request.set_spreadsheet_id(spreadsheet->second.string_value());
  }
  for (Value& change : *changes->second.mutable_list_value()->mutable_values()) {
    if (change.kind_case() != Value::kStructValue) {
      return absl::InvalidArgumentError(
          "every element of \"changes\" must be an object");
    }
  }
  request.set_table(table->second.string_value());
  for (Value& change : *changes->second.mutable_list_value()->mutable_values()) {
    *request.add_changes() = std::move(*change.mutable_struct_value());
  }
  return request;
}

std::string RenderResults(const v1::SubmitResponse& response) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  // A SubmitResponse always prints: it holds only well-formed fields.
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  if (json == "{}") return "{\"results\":[]}";
  return json;
}

bool AllRejected(const v1::SubmitResponse& response) {
  if (response.results().empty()) return false;
  for (const v1::ChangeResult& result : response.results()) {
    if (result.status() != "rejected") return false;
  }
  return true;
}

}  // namespace sheetsync::gateway
