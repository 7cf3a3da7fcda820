// GatewayHandler: the admin routes of the table registry, answered by the
// writer's Admin service (proto/sheetsync/v1/registry.proto). They take the
// admin token (--admin_token), never the edit token, and are off (403) when
// the gateway has none:
//   GET    /v1/admin/tables        every registered table, with its columns
//   GET    /v1/admin/tables/NAME   one table (NAME percent-encoded)
//   PUT    /v1/admin/tables/NAME   register; the body is a TableConfig
//   DELETE /v1/admin/tables/NAME   unregister (tables registered here only)
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/gateway_handler.h"
#include "gateway/query.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/grpc_util.h"

namespace sheetsync::gateway {
namespace {

constexpr absl::string_view kAdminPrefix = "/v1/admin/";
constexpr absl::string_view kTables = "/v1/admin/tables";
constexpr char kRoute[] = "/v1/admin/tables";
constexpr absl::Duration kAdminTimeout = absl::Seconds(30);

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

HttpResponse Ok(const google::protobuf::Message& message) {
  HttpResponse response;
  response.body = ToJson(message);
  return response;
}

HttpResponse FromAdminGrpc(const grpc::Status& status) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return ErrorResponse(400, "invalid_table_config", message);
    case grpc::StatusCode::NOT_FOUND:
      return ErrorResponse(404, "unknown_table", message);
    case grpc::StatusCode::ALREADY_EXISTS:
      return ErrorResponse(409, "registered_by_config", message);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return ErrorResponse(422, "table_cannot_sync", message);
    default:
      return FromGrpc(status);
  }
}

}  // namespace

bool IsAdminPath(absl::string_view path) {
  return path == "/v1/admin" || absl::StartsWith(path, kAdminPrefix);
}

std::optional<HttpResponse> GatewayHandler::CheckAdminToken(
    const HttpRequest& head) {
  std::optional<HttpResponse> refused;
  if (options_.admin_token.empty() || options_.admin == nullptr) {
    refused = ErrorResponse(403, "admin_disabled",
                            "the admin API is off: start the gateway with "
                            "--admin_token (or SHEETSYNC_ADMIN_TOKEN)");
  } else if (!BearerMatches(head.Header("authorization"),
                            options_.admin_token)) {
    refused = ErrorResponse(
        401, "unauthorized",
        "admin routes take the admin token (not the edit token) as "
        "\"Authorization: Bearer <token>\"");
    refused->headers.emplace_back("WWW-Authenticate", "Bearer");
  } else {
    return std::nullopt;
  }
  refused->close = true;
  http_requests_
      .Add({{"route", "admin_auth"}, {"code", std::to_string(refused->status)}})
      .Increment();
  return refused;
}

void GatewayHandler::HandleAdmin(HttpRequest request, Responder respond) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  auto fail = [&](HttpResponse response) {
    Finish(kRoute, std::move(response), std::move(respond));
  };
  if (path == kTables) {
    if (method != "GET") {
      return fail(MethodNotAllowed(
          "GET",
          "/v1/admin/tables (PUT and DELETE take /v1/admin/tables/NAME)"));
    }
    return AdminList(std::move(respond));
  }
  const std::string tables_slash = absl::StrCat(kTables, "/");
  if (!absl::StartsWith(path, tables_slash) || path == tables_slash) {
    return fail(
        ErrorResponse(404, "not_found", absl::StrCat("no route for ", path)));
  }
  absl::StatusOr<std::string> name =
      PercentDecode(absl::string_view(path).substr(tables_slash.size()),
                    /*plus_is_space=*/false);
  if (!name.ok()) {
    return fail(ErrorResponse(400, "bad_request", name.status().message()));
  }
  if (method == "GET") return AdminGet(*name, std::move(respond));
  if (method == "PUT") return AdminPut(*name, request.body, std::move(respond));
  if (method == "DELETE") return AdminDelete(*name, std::move(respond));
  fail(MethodNotAllowed("GET, PUT, DELETE", "/v1/admin/tables/NAME"));
}

void GatewayHandler::AdminList(Responder respond) {
  auto call = std::make_shared<BackendCall<v1::ListRegisteredTablesRequest,
                                         v1::ListRegisteredTablesResponse>>();
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kAdminTimeout);
  loop_.Call(*options_.admin,
             &v1::Admin::StubInterface::PrepareAsyncListRegisteredTables,
             "/sheetsync.v1.Admin/ListRegisteredTables", &call->context,
             call->request, &call->response, [this, call](grpc::Status status) {
               Finish(kRoute,
                      status.ok() ? Ok(call->response) : FromAdminGrpc(status),
                      std::move(call->respond));
             });
}

void GatewayHandler::AdminGet(const std::string& name, Responder respond) {
  auto call = std::make_shared<
      BackendCall<v1::GetRegisteredTableRequest, v1::RegisteredTable>>();
  call->request.set_name(name);
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kAdminTimeout);
  loop_.Call(*options_.admin,
             &v1::Admin::StubInterface::PrepareAsyncGetRegisteredTable,
             "/sheetsync.v1.Admin/GetRegisteredTable", &call->context,
             call->request, &call->response, [this, call](grpc::Status status) {
               Finish(kRoute,
                      status.ok() ? Ok(call->response) : FromAdminGrpc(status),
                      std::move(call->respond));
             });
}

void GatewayHandler::AdminPut(const std::string& name, const std::string& body,
                              Responder respond) {
  auto call = std::make_shared<
      BackendCall<v1::PutRegisteredTableRequest, v1::RegisteredTable>>();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;  // a typo must not pass silently
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      body.empty() ? "{}" : body, call->request.mutable_table(), options);
  if (!parsed.ok()) {
    return Finish(
        kRoute,
        ErrorResponse(400, "bad_request",
                      absl::StrCat("the body must be a table configuration "
                                   "(sheetsync.v1.TableConfig as JSON): ",
                                   parsed.message().as_string())),
        std::move(respond));
  }
  v1::TableConfig& table = *call->request.mutable_table();
  if (!table.name().empty() && table.name() != name) {
    return Finish(
        kRoute,
        ErrorResponse(400, "bad_request",
                      absl::StrCat("the body names table `", table.name(),
                                   "` but the path `", name, "`")),
        std::move(respond));
  }
  table.set_name(name);
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kAdminTimeout);
  loop_.Call(*options_.admin,
             &v1::Admin::StubInterface::PrepareAsyncPutRegisteredTable,
             "/sheetsync.v1.Admin/PutRegisteredTable", &call->context,
             call->request, &call->response, [this, call](grpc::Status status) {
               Finish(kRoute,
                      status.ok() ? Ok(call->response) : FromAdminGrpc(status),
                      std::move(call->respond));
             });
}

void GatewayHandler::AdminDelete(const std::string& name, Responder respond) {
  auto call = std::make_shared<BackendCall<v1::DeleteRegisteredTableRequest,
                                         v1::DeleteRegisteredTableResponse>>();
  call->request.set_name(name);
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, kAdminTimeout);
  loop_.Call(
      *options_.admin,
      &v1::Admin::StubInterface::PrepareAsyncDeleteRegisteredTable,
      "/sheetsync.v1.Admin/DeleteRegisteredTable", &call->context,
      call->request, &call->response, [this, call](grpc::Status status) {
        if (!status.ok()) {
          return Finish(kRoute, FromAdminGrpc(status),
                        std::move(call->respond));
        }
        google::protobuf::Struct body;
        (*body.mutable_fields())["deleted"].set_string_value(
            call->request.name());
        Finish(kRoute, Ok(body), std::move(call->respond));
      });
}

}  // namespace sheetsync::gateway
