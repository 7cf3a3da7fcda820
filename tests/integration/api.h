// Helpers of the integration tests: calls of the contract's HTTP API against
// a Stack, JSON parsing with protobuf, and sums over every process's
// Prometheus /metrics. Thread-safe (no shared state).
#ifndef SHEETSYNC_TESTS_INTEGRATION_API_H_
#define SHEETSYNC_TESTS_INTEGRATION_API_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "tests/support/http_client.h"
#include "tests/support/mysql_test_env.h"
#include "tests/support/stack.h"

namespace sheetsync::test {

// Returns the parsed JSON body (a null Value when it is not JSON).
google::protobuf::Value ParseJson(const std::string& body);

// Returns the value at a path of struct fields (null when absent).
const google::protobuf::Value* Find(const google::protobuf::Value& value,
                                    std::initializer_list<const char*> path);

// Returns the string at a path of struct fields ("" when absent).
std::string Str(const google::protobuf::Value& value,
                std::initializer_list<const char*> path);

struct ApiResponse {
  int status = 0;
  HttpResponse http;
  google::protobuf::Value json;
  // results[i] of a /v1/edits answer.
  const google::protobuf::Value& result(int i) const {
    return json.struct_value().fields().at("results").list_value().values(i);
  }
};

class Api {
 public:
  // `tls` is used when `gateway_url` is https://.
  Api(std::string gateway_url, std::string token, HttpTls tls = {})
      : url_(std::move(gateway_url)),
        token_(std::move(token)),
        tls_(std::move(tls)) {}

  // POSTs `body` to /v1/edits with the token.
  absl::StatusOr<ApiResponse> Edits(const std::string& body) const;
  // GETs `target` (path and query) with the token.
  absl::StatusOr<ApiResponse> Get(const std::string& target) const;

 private:
  std::string url_;
  std::string token_;
  HttpTls tls_;
};

// One change of a /v1/edits body, rendered as JSON.
struct EditChange {
  std::string event_id = {};
  std::string row_id = {};
  std::string updated_at = {};  // RFC 3339 or an epoch-ms number as text
  bool deleted = false;
  std::map<std::string, std::optional<std::string>> cells = {};  // nullopt = null
  std::string cells_json = {};  // used instead of `cells` when not empty
};

// Returns {"spreadsheet_id":..,"table":..,"changes":[..]}.
std::string EditsBody(const std::string& table,
                      const std::vector<EditChange>& changes,
                      const std::string& spreadsheet_id = "sheet-1");

// Returns RFC 3339 for microseconds since the epoch.
std::string Rfc3339(int64_t us);

// Returns the sum, over every process's /metrics, of the samples of `name`
// whose labels include every pair in `labels`.
absl::StatusOr<double> MetricSum(const std::vector<std::string>& urls,
                                 const std::string& name,
                                 const std::map<std::string, std::string>& labels = {});

// A scratch database (holding the demo table `users`) on the `mariadb`
// fixture's server and a stack that syncs it. Destroying it stops the stack,
// then drops the database.
struct ScratchStack {
  MysqlTestConfig config;
  std::unique_ptr<ScratchDatabase> db;
  std::unique_ptr<Stack> stack;  // declared last: destroyed first
};

// Starts one; `options.mysql` and `options.database` are filled in, and
// `prefix` names the database.
absl::StatusOr<std::unique_ptr<ScratchStack>> StartScratchStack(
    absl::string_view prefix, StackOptions options = {});

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_INTEGRATION_API_H_
