// GatewayHandler: GET /v1/changes (the change feed) and GET /v1/rows (the
// snapshot a reader resyncs from), answered by the writer.
#include "absl/strings/str_cat.h"
#include "gateway/gateway_handler.h"
#include "gateway/query.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/grpc_util.h"

namespace sheetsync::gateway {
namespace {

constexpr int kDefaultLimit = 500;
constexpr int kMaxLimit = 5000;
constexpr absl::Duration kReadTimeout = absl::Seconds(30);

std::string ToJson(const google::protobuf::Message& page) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(page, &json, options);
  return json;
}

HttpResponse Ok(std::string body) {
  HttpResponse response;
  response.body = std::move(body);
  return response;
}

// Parses the common parameters; answers 400 through `respond` and returns
// false when they are bad.
bool Parse(const HttpRequest& request, std::map<std::string, std::string>& params,
           int& limit, HttpResponse& error) {
  absl::StatusOr<std::map<std::string, std::string>> parsed =
      ParseQuery(request.query);
  if (!parsed.ok()) {
    error = ErrorResponse(400, "bad_request", parsed.status().message());
    return false;
  }
  params = *std::move(parsed);
  if (params["table"].empty()) {
    error = ErrorResponse(400, "bad_request", "the `table` parameter is required");
    return false;
  }
  absl::StatusOr<int> parsed_limit = ParseLimit(params, kDefaultLimit, kMaxLimit);
  if (!parsed_limit.ok()) {
    error = ErrorResponse(400, "bad_request", parsed_limit.status().message());
    return false;
  }
  limit = *parsed_limit;
  return true;
}

}  // namespace

void GatewayHandler::HandleChanges(const HttpRequest& request,
                                   Responder respond) {
  std::map<std::string, std::string> params;
  int limit = 0;
  HttpResponse error;
  if (!Parse(request, params, limit, error)) {
    return Finish("/v1/changes", std::move(error), std::move(respond));
  }
  absl::StatusOr<int64_t> since = DecodeCursor(params["since"]);
  if (!since.ok()) {
    return Finish("/v1/changes",
                  ErrorResponse(400, "invalid_cursor", since.status().message()),
                  std::move(respond));
  }
  auto call = std::make_shared<BackendCall<v1::ReadFeedRequest, v1::ReadFeedResponse>>();
  call->request.set_table(params["table"]);
  call->request.set_since_seq(*since);
  call->request.set_limit(limit);
  if (params.count("exclude_origin") > 0) {
    call->request.set_has_exclude_origin(true);
    call->request.set_exclude_origin(params["exclude_origin"]);
  }
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kReadTimeout);
  loop_.Call(writer_, &v1::Writer::StubInterface::PrepareAsyncReadFeed,
             "/sheetsync.v1.Writer/ReadFeed", &call->context, call->request,
             &call->response, [this, call](grpc::Status status) {
               if (!status.ok()) {
                 return Finish("/v1/changes", FromGrpc(status),
                               std::move(call->respond));
               }
               v1::FeedPage page;
               page.mutable_changes()->Swap(call->response.mutable_changes());
               page.set_next_cursor(EncodeCursor(call->response.next_seq()));
               page.set_has_more(call->response.has_more());
               Finish("/v1/changes", Ok(ToJson(page)),
                      std::move(call->respond));
             });
}

void GatewayHandler::HandleRows(const HttpRequest& request, Responder respond) {
  std::map<std::string, std::string> params;
  int limit = 0;
  HttpResponse error;
  if (!Parse(request, params, limit, error)) {
    return Finish("/v1/rows", std::move(error), std::move(respond));
  }
  auto call = std::make_shared<BackendCall<v1::ReadRowsRequest, v1::ReadRowsResponse>>();
  call->request.set_table(params["table"]);
  call->request.set_after(params["after"]);
  call->request.set_limit(limit);
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kReadTimeout);
  loop_.Call(writer_, &v1::Writer::StubInterface::PrepareAsyncReadRows,
             "/sheetsync.v1.Writer/ReadRows", &call->context, call->request,
             &call->response, [this, call](grpc::Status status) {
               if (!status.ok()) {
                 return Finish("/v1/rows", FromGrpc(status),
                               std::move(call->respond));
               }
               v1::RowsPage page;
               page.mutable_rows()->Swap(call->response.mutable_rows());
               page.set_next_after(call->response.next_after());
               page.set_has_more(call->response.has_more());
               page.set_cursor(EncodeCursor(call->response.cursor_seq()));
               Finish("/v1/rows", Ok(ToJson(page)), std::move(call->respond));
             });
}

}  // namespace sheetsync::gateway
