#include "gateway/edits_json.h"

#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/json_syntax.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/coerce.h"
#include "services/common/status_macros.h"
#include "simdjson.h"

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

// Why a body that is valid JSON (CheckJsonSyntax passed) is still refused.
absl::Status NotIJson(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "the body must be a JSON object: {\"table\": ..., \"changes\": "
      "[...]}, without duplicate names (",
      why, ")"));
}

// Where a value sits in the body, for telling a duplicate name inside one
// change (only that change is refused) from one elsewhere (the body is).
struct Where {
  bool root = true;      // the body itself
  bool changes = false;  // the root's "changes" array
  int change = -1;       // the index of the change this value is in
  Where Field(absl::string_view name) const {
    Where child = *this;
    child.root = false;
    child.changes = root && name == "changes";
    return child;
  }
  Where Item(int index) const {
    Where child = *this;
    child.root = false;
    child.changes = false;
    if (changes) child.change = index;
    return child;
  }
};

// The first duplicate name found outside any change and in each change. A
// name's later values are read (so that parsing goes on) and dropped.
struct Duplicates {
  std::string outside;
  absl::flat_hash_map<int, std::string> in_change;
  void Add(const Where& where, std::string name) {
    if (where.change >= 0) {
      in_change.try_emplace(where.change, std::move(name));
    } else if (outside.empty()) {
      outside = std::move(name);
    }
  }
};

// Copies a parsed JSON value into `out`, noting duplicate names (not I-JSON,
// RFC 7493) in `dups`. Recursion is bounded: CheckJsonSyntax capped the depth.
absl::Status ToValue(simdjson::dom::element element, Value& out, Where where,
                     Duplicates& dups) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      auto& fields = *out.mutable_struct_value()->mutable_fields();
      const simdjson::dom::object object = element.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair field : object) {
        std::string name(field.key.data(), field.key.size());
        const Where child = where.Field(name);
        auto [slot, inserted] = fields.try_emplace(name);
        Value dropped;
        if (!inserted) dups.Add(where, std::move(name));
        RETURN_IF_ERROR(ToValue(field.value, inserted ? slot->second : dropped,
                                child, dups));
      }
      return absl::OkStatus();
    }
    case simdjson::dom::element_type::ARRAY: {
      auto& values = *out.mutable_list_value()->mutable_values();
      const simdjson::dom::array array = element.get_array().value_unsafe();
      int index = 0;
      for (simdjson::dom::element item : array) {
        RETURN_IF_ERROR(
            ToValue(item, *values.Add(), where.Item(index++), dups));
      }
      return absl::OkStatus();
    }
    case simdjson::dom::element_type::STRING: {
      const std::string_view text = element.get_string().value_unsafe();
      out.set_string_value(text.data(), text.size());
      return absl::OkStatus();
    }
    case simdjson::dom::element_type::INT64:
      out.set_number_value(static_cast<double>(element.get_int64().value_unsafe()));
      return absl::OkStatus();
    case simdjson::dom::element_type::UINT64:
      out.set_number_value(static_cast<double>(element.get_uint64().value_unsafe()));
      return absl::OkStatus();
    case simdjson::dom::element_type::DOUBLE:
      out.set_number_value(element.get_double().value_unsafe());
      return absl::OkStatus();
    case simdjson::dom::element_type::BOOL:
      out.set_bool_value(element.get_bool().value_unsafe());
      return absl::OkStatus();
    case simdjson::dom::element_type::NULL_VALUE:
      out.set_null_value(google::protobuf::NULL_VALUE);
      return absl::OkStatus();
  }
  return NotIJson("unknown JSON type");
}

// The same from simdjson's On-Demand API, for the rare bodies its DOM parser
// refuses: integers beyond 64 bits and numbers beyond a double. Each number is
// read from its text: the nearest double, or ±infinity beyond 1.8e308, which
// coercion rejects as `out_of_range` for that change alone (the body is JSON).
absl::Status OnDemandToValue(simdjson::ondemand::value element, Value& out,
                             Where where, Duplicates& dups) {
  simdjson::ondemand::json_type type;
  if (simdjson::error_code error = element.type().get(type); error) {
    return NotIJson(simdjson::error_message(error));
  }
  switch (type) {
    case simdjson::ondemand::json_type::object: {
      simdjson::ondemand::object object;
      if (simdjson::error_code error = element.get_object().get(object);
          error) {
        return NotIJson(simdjson::error_message(error));
      }
      auto& fields = *out.mutable_struct_value()->mutable_fields();
      for (auto field : object) {
        std::string_view key;
        simdjson::ondemand::value value;
        if (simdjson::error_code error = field.unescaped_key().get(key);
            error) {
          return NotIJson(simdjson::error_message(error));
        }
        std::string name(key);
        if (simdjson::error_code error = field.value().get(value); error) {
          return NotIJson(simdjson::error_message(error));
        }
        const Where child = where.Field(name);
        auto [slot, inserted] = fields.try_emplace(name);
        Value dropped;
        if (!inserted) dups.Add(where, std::move(name));
        RETURN_IF_ERROR(OnDemandToValue(
            value, inserted ? slot->second : dropped, child, dups));
      }
      return absl::OkStatus();
    }
    case simdjson::ondemand::json_type::array: {
      simdjson::ondemand::array array;
      if (simdjson::error_code error = element.get_array().get(array); error) {
        return NotIJson(simdjson::error_message(error));
      }
      auto& values = *out.mutable_list_value()->mutable_values();
      int index = 0;
      for (auto item : array) {
        simdjson::ondemand::value value;
        if (simdjson::error_code error = item.get(value); error) {
          return NotIJson(simdjson::error_message(error));
        }
        RETURN_IF_ERROR(
            OnDemandToValue(value, *values.Add(), where.Item(index++), dups));
      }
      return absl::OkStatus();
    }
    case simdjson::ondemand::json_type::number: {
      double number = 0;
      // CheckJsonSyntax passed the token, so it parses; from_chars gives
      // ±infinity beyond a double's range and 0 below its smallest.
      const std::string_view raw = element.raw_json_token();
      const absl::string_view token = absl::StripTrailingAsciiWhitespace(
          absl::string_view(raw.data(), raw.size()));
      if (!absl::SimpleAtod(token, &number)) {
        return NotIJson("a number simdjson cannot read");
      }
      // A number the double does not hold as written (9007199254740993,
      // 0.12345678901234567891, 1e-400) is marked, so that coercion refuses
      // it rather than store the nearest double. Infinity says "beyond a
      // double's range" already.
      if (std::isfinite(number) && !IsExactJsonNumber(token)) {
        number = InexactJsonNumber();
      }
      out.set_number_value(number);
      return absl::OkStatus();
    }
    case simdjson::ondemand::json_type::string: {
      std::string_view text;
      if (simdjson::error_code error = element.get_string().get(text); error) {
        return NotIJson(simdjson::error_message(error));
      }
      out.set_string_value(text.data(), text.size());
      return absl::OkStatus();
    }
    case simdjson::ondemand::json_type::boolean: {
      bool value = false;
      if (simdjson::error_code error = element.get_bool().get(value); error) {
        return NotIJson(simdjson::error_message(error));
      }
      out.set_bool_value(value);
      return absl::OkStatus();
    }
    case simdjson::ondemand::json_type::null:
      out.set_null_value(google::protobuf::NULL_VALUE);
      return absl::OkStatus();
  }
  return NotIJson("unknown JSON type");
}

// Parses `body` with the On-Demand API into `out` (see OnDemandToValue).
absl::Status ParseOnDemand(absl::string_view body, Value& out,
                           Duplicates& dups) {
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(body.data(), body.size());
  simdjson::ondemand::document document;
  if (simdjson::error_code error = parser.iterate(padded).get(document);
      error) {
    return NotIJson(simdjson::error_message(error));
  }
  // A scalar root has no ondemand::value; the caller refuses any non-object.
  simdjson::ondemand::value root;
  if (document.get_value().get(root) != simdjson::SUCCESS)
    return absl::OkStatus();
  return OnDemandToValue(root, out, Where(), dups);
}

}  // namespace

absl::StatusOr<v1::SubmitRequest> ParseEditsBody(absl::string_view body) {
  v1::SubmitRequest request;
  RETURN_IF_ERROR(ParseEditsBodyInto(body, request));
  return request;
}

absl::Status ParseEditsBodyInto(absl::string_view body, v1::SubmitRequest& request) {
  bool long_numbers = false;
  if (absl::Status syntax = CheckJsonSyntax(body, kMaxJsonDepth, &long_numbers);
      !syntax.ok()) {
    return syntax;
  }
  // simdjson parses text CheckJsonSyntax has passed, into a parser that
  // keeps its buffers across calls. Its DOM parser keeps no number's text
  // and refuses integers beyond 64 bits and numbers beyond a double, which
  // are valid JSON: the rare bodies with such numbers, or with any number of
  // more than 15 digits or an exponent, go through its On-Demand API, which
  // reads each number from its text and tells whether a double holds it.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element parsed;
  // On the request's arena (if any), so that its changes move in for free.
  Value heap_root;
  Duplicates dups;
  Value& root_value =
      request.GetArena() == nullptr
          ? heap_root
          : *google::protobuf::Arena::CreateMessage<Value>(request.GetArena());
  simdjson::error_code error = simdjson::NUMBER_ERROR;
  if (!long_numbers) error = parser.parse(body.data(), body.size()).get(parsed);
  if (error == simdjson::NUMBER_ERROR) {
    RETURN_IF_ERROR(ParseOnDemand(body, root_value, dups));
  } else if (error != simdjson::SUCCESS) {
    return NotIJson(simdjson::error_message(error));
  } else {
    RETURN_IF_ERROR(ToValue(parsed, root_value, Where(), dups));
  }
  if (!dups.outside.empty()) {
    return NotIJson(absl::StrCat("duplicate name \"", dups.outside, "\""));
  }
  if (root_value.kind_case() != Value::kStructValue) return NotIJson("not an object");
  Struct& root = *root_value.mutable_struct_value();
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
  for (const auto& [index, name] : dups.in_change) {
    (*request.mutable_unreadable_changes())[index] = absl::StrCat(
        "the change names \"", name,
        "\" twice (duplicate names in JSON are ambiguous); send each once");
  }
  for (Value& change : *changes->second.mutable_list_value()->mutable_values()) {
    request.add_changes()->Swap(change.mutable_struct_value());
  }
  return absl::OkStatus();
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

bool CommittedAny(const v1::SubmitResponse& response) {
  for (const v1::ChangeResult& result : response.results()) {
    if (result.status() != "rejected" && result.status() != "duplicate")
      return true;
  }
  return false;
}

bool AllRejected(const v1::SubmitResponse& response) {
  if (response.results().empty()) return false;
  for (const v1::ChangeResult& result : response.results()) {
    if (result.status() != "rejected") return false;
  }
  return true;
}

}  // namespace sheetsync::gateway
