#include "tests/integration/api.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace sheetsync::test {
namespace {

std::string JsonString(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(value, &out);
  return out;
}

absl::StatusOr<ApiResponse> Wrap(absl::StatusOr<HttpResponse> http) {
  if (!http.ok()) return http.status();
  ApiResponse response;
  response.status = http->status;
  response.json = ParseJson(http->body);
  response.http = *std::move(http);
  return response;
}

// Parses `name{a="b",c="d"} 12.5` into its parts; false for other lines.
bool ParseSample(absl::string_view line, std::string& name,
                 std::map<std::string, std::string>& labels, double& value) {
  if (line.empty() || line[0] == '#') return false;
  const size_t brace = line.find('{');
  const size_t space = line.rfind(' ');
  if (space == absl::string_view::npos) return false;
  labels.clear();
  if (brace != absl::string_view::npos && brace < space) {
    name = std::string(line.substr(0, brace));
    const size_t close = line.find('}', brace);
    for (absl::string_view pair :
         absl::StrSplit(line.substr(brace + 1, close - brace - 1), "\",",
                        absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv =
          absl::StrSplit(pair, absl::MaxSplits("=\"", 1));
      if (!kv.second.empty() && kv.second.back() == '"') kv.second.pop_back();
      labels[kv.first] = kv.second;
    }
  } else {
    name = std::string(line.substr(0, space));
  }
  return absl::SimpleAtod(line.substr(space + 1), &value);
}

}  // namespace

google::protobuf::Value ParseJson(const std::string& body) {
  google::protobuf::Value value;
  if (!google::protobuf::util::JsonStringToMessage(body, &value).ok()) {
    value.set_null_value(google::protobuf::NULL_VALUE);
  }
  return value;
}

const google::protobuf::Value* Find(const google::protobuf::Value& value,
                                    std::initializer_list<const char*> path) {
  const google::protobuf::Value* at = &value;
  for (const char* field : path) {
    if (!at->has_struct_value()) return nullptr;
    auto it = at->struct_value().fields().find(field);
    if (it == at->struct_value().fields().end()) return nullptr;
    at = &it->second;
  }
  return at;
}

std::string Str(const google::protobuf::Value& value,
                std::initializer_list<const char*> path) {
  const google::protobuf::Value* at = Find(value, path);
  return at != nullptr && at->has_string_value() ? at->string_value() : "";
}

absl::StatusOr<ApiResponse> Api::Edits(const std::string& body) const {
  return Wrap(HttpRequest(url_ + "/v1/edits", "POST",
                          {{"Authorization", "Bearer " + token_},
                           {"Content-Type", "application/json"}},
                          body, absl::Seconds(30), tls_));
}

absl::StatusOr<ApiResponse> Api::Get(const std::string& target) const {
  return Wrap(HttpRequest(url_ + target, "GET",
                          {{"Authorization", "Bearer " + token_}}, "",
                          absl::Seconds(30), tls_));
}

std::string EditsBody(const std::string& table,
                      const std::vector<EditChange>& changes,
                      const std::string& spreadsheet_id) {
  std::vector<std::string> items;
  for (const EditChange& change : changes) {
    std::string item = absl::StrCat(
        "{\"event_id\":", JsonString(change.event_id),
        ",\"row_id\":", JsonString(change.row_id), ",\"updated_at\":",
        change.updated_at.find('T') != std::string::npos
            ? JsonString(change.updated_at)
            : change.updated_at);
    if (change.deleted) {
      absl::StrAppend(&item, ",\"deleted\":true");
    } else if (!change.cells_json.empty()) {
      absl::StrAppend(&item, ",\"cells\":", change.cells_json);
    } else {
      std::vector<std::string> cells;
      for (const auto& [column, value] : change.cells) {
        cells.push_back(absl::StrCat(JsonString(column), ":",
                                     value ? JsonString(*value) : "null"));
      }
      absl::StrAppend(&item, ",\"cells\":{", absl::StrJoin(cells, ","), "}");
    }
    items.push_back(item + "}");
  }
  return absl::StrCat("{\"spreadsheet_id\":", JsonString(spreadsheet_id),
                      ",\"table\":", JsonString(table), ",\"changes\":[",
                      absl::StrJoin(items, ","), "]}");
}

std::string Rfc3339(int64_t us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(us),
                          absl::UTCTimeZone());
}

absl::StatusOr<double> MetricSum(const std::vector<std::string>& urls,
                                 const std::string& name,
                                 const std::map<std::string, std::string>& labels) {
  double sum = 0;
  for (const std::string& url : urls) {
    absl::StatusOr<HttpResponse> scrape = HttpRequest(url, "GET");
    if (!scrape.ok()) return scrape.status();
    for (absl::string_view line : absl::StrSplit(scrape->body, '\n')) {
      std::string sample;
      std::map<std::string, std::string> sample_labels;
      double value = 0;
      if (!ParseSample(line, sample, sample_labels, value) || sample != name) {
        continue;
      }
      bool match = true;
      for (const auto& [key, want] : labels) {
        auto it = sample_labels.find(key);
        match = match && it != sample_labels.end() && it->second == want;
      }
      if (match) sum += value;
    }
  }
  return sum;
}

absl::StatusOr<std::unique_ptr<ScratchStack>> StartScratchStack(
    absl::string_view prefix, StackOptions options) {
  auto scratch = std::make_unique<ScratchStack>();
  absl::StatusOr<MysqlTestConfig> config = LoadMysqlTestConfig();
  if (!config.ok()) return config.status();
  scratch->config = *std::move(config);
  absl::StatusOr<ScratchDatabase> db =
      ScratchDatabase::Create(scratch->config, prefix);
  if (!db.ok()) return db.status();
  scratch->db = std::make_unique<ScratchDatabase>(*std::move(db));
  options.mysql = scratch->config;
  options.database = scratch->db->name();
  absl::StatusOr<std::unique_ptr<Stack>> stack =
      Stack::Start(std::move(options));
  if (!stack.ok()) return stack.status();
  scratch->stack = *std::move(stack);
  return scratch;
}

}  // namespace sheetsync::test
