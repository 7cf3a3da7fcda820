#include "gateway/gateway_handler.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/edits_json.h"
#include "gateway/static_page.h"
#include "google/protobuf/arena.h"
#include "prometheus/text_serializer.h"
#include "services/common/grpc_util.h"
#include "services/common/process.h"
#include "services/common/process_collector.h"
#include "services/common/rpc_observer.h"

namespace sheetsync::gateway {
namespace {

bool IsPublic(const std::string& path) {
  return path == "/healthz" || path == "/readyz" || path == "/metrics" ||
         path == "/" || path == "/favicon.ico";
}

// The route label of a path: the known routes, else "other" (never the raw
// path, which would make the label's cardinality unbounded).
std::string RouteLabel(const std::string& path) {
  for (const char* route : {"/", "/healthz", "/readyz", "/metrics", "/v1/edits",
                            "/v1/changes", "/v1/rows"}) {
    if (path == route) return route;
  }
  return IsAdminPath(path) ? "/v1/admin" : "other";
}

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The state of one asynchronous ingest call. Its messages live on its arena.
struct EditsCall {
  InflightCounter::Hold hold;  // first, so released last
  google::protobuf::Arena arena;
  v1::SubmitRequest& request = *google::protobuf::Arena::CreateMessage<v1::SubmitRequest>(&arena);
  v1::SubmitResponse& response =
      *google::protobuf::Arena::CreateMessage<v1::SubmitResponse>(&arena);
  grpc::ClientContext context;
  Responder respond;
  std::chrono::steady_clock::time_point received;
  std::string trace_id;
};

}  // namespace

std::string StatusName(const grpc::Status& status) {
  return absl::StatusCodeToString(
      static_cast<absl::StatusCode>(status.error_code()));
}

void LogFailure(const grpc::Status& status) {
  LogAccess("backend call failed",
            {{"code", StatusName(status)}, {"detail", status.error_message()}});
}

HttpResponse FromGrpc(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return ErrorResponse(400, "bad_request", status.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return ErrorResponse(404, "unknown_table", status.error_message());
    case grpc::StatusCode::OUT_OF_RANGE:
      return ErrorResponse(413, "too_many_changes", status.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
      if (absl::StartsWith(status.error_message(), kCursorExpired)) {
        return ErrorResponse(410, kCursorExpired, status.error_message());
      }
      // The table's schema changed under the engine (say its key lost its
      // unique index): a server-side fault, which clients retry as any 5xx
      // until someone fixes the table.
      return ErrorResponse(500, "table_cannot_sync", status.error_message());
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::CANCELLED: {
      // The detail names internal addresses, users and MySQL errors: it goes
      // to the log, the client gets the status's name.
      LogFailure(status);
      HttpResponse response = ErrorResponse(
          503, "unavailable",
          absl::StrCat(
              "the sync backend is unavailable (", StatusName(status),
              "); nothing of this request was acknowledged, retry it"));
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
    default:
      LogFailure(status);
      return ErrorResponse(500, "internal",
                           absl::StrCat("internal error (", StatusName(status),
                                        "); the gateway's log has the detail"));
  }
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    const unsigned char other = b.empty() ? 0 : b[i % b.size()];
    diff |= static_cast<unsigned char>(a[i]) ^ other;
  }
  return diff == 0;
}

bool BearerMatches(absl::string_view authorization, absl::string_view token) {
  constexpr absl::string_view kScheme = "Bearer";
  if (!absl::StartsWithIgnoreCase(authorization, kScheme)) return false;
  absl::string_view credentials = authorization.substr(kScheme.size());
  if (!absl::StartsWith(credentials, " ")) return false;
  while (absl::ConsumePrefix(&credentials, " ")) {
  }
  return ConstantTimeEquals(credentials, token);
}

HttpResponse MethodNotAllowed(absl::string_view allow,
                              absl::string_view route) {
  HttpResponse response = ErrorResponse(
      405, "method_not_allowed", absl::StrCat("use ", allow, " for ", route));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

GatewayHandler::GatewayHandler(v1::Ingest::StubInterface& ingest,
                               v1::Writer::StubInterface& writer,
                               const Readiness* readiness,
                               std::shared_ptr<prometheus::Registry> registry,
                               CompletionLoop& loop, GatewayOptions options)
    : ingest_(ingest),
      writer_(writer),
      readiness_(readiness),
      registry_(std::move(registry)),
      loop_(loop),
      metrics_(*registry_),
      http_requests_(prometheus::BuildCounter()
                         .Name("sheetsync_http_requests_total")
                         .Help("HTTP requests answered, by route and status.")
                         .Register(*registry_)),
      http_seconds_(prometheus::BuildHistogram()
                        .Name("sheetsync_http_request_duration_seconds")
                        .Help("Time from a whole request read to its response, by route.")
                        .Register(*registry_)),
      options_(std::move(options)),
      limiter_(options_.rate_per_second, options_.rate_burst, clock_) {}

GatewayHandler::~GatewayHandler() {
  if (backend_calls_.count() > 0) {
    LogInfo("waiting for backend calls", {{"calls", std::to_string(backend_calls_.count())}});
  }
  backend_calls_.WaitForNone();
}

std::optional<HttpResponse> GatewayHandler::OnHeaders(const HttpRequest& head) {
  if (IsPublic(head.path)) return std::nullopt;
  if (IsAdminPath(head.path)) {
    if (std::optional<HttpResponse> refused = CheckAdminToken(head))
      return refused;
    return RateLimited(head, options_.admin_token);
  }
  if (!BearerMatches(head.Header("authorization"), options_.token)) {
    HttpResponse response = ErrorResponse(
        401, "unauthorized",
        "send the gateway token as \"Authorization: Bearer <token>\"");
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    response.close = true;
    http_requests_.Add({{"route", "auth"}, {"code", "401"}}).Increment();
    return response;
  }
  return RateLimited(head, options_.token);
}

std::optional<HttpResponse> GatewayHandler::RateLimited(
    const HttpRequest& head, const std::string& token) {
  const int wait = limiter_.Acquire(token);
  if (wait <= 0) return std::nullopt;
  HttpResponse response = ErrorResponse(
      429, "rate_limited",
      absl::StrCat("this token exceeded its rate limit; retry in ", wait,
                   " s"));
  response.headers.emplace_back("Retry-After", std::to_string(wait));
  http_requests_.Add({{"route", RouteLabel(head.path)}, {"code", "429"}})
      .Increment();
  return response;
}

void GatewayHandler::OnServerAnswer(const HttpRequest& head, int status) {
  http_requests_.Add({{"route", RouteLabel(head.path)}, {"code", std::to_string(status)}})
      .Increment();
}

int GatewayHandler::InflightLane(const HttpRequest& head) const {
  return head.path == "/v1/changes" || head.path == "/v1/rows" ? 1 : 0;
}

bool GatewayHandler::BypassesInflightCap(const HttpRequest& head) const {
  return IsPublic(head.path);
}

void GatewayHandler::Handle(HttpRequest request, Responder respond) {
  const auto start = std::chrono::steady_clock::now();
  prometheus::Histogram& histogram = http_seconds_.Add(
      {{"route", RouteLabel(request.path)}},
      prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  Dispatch(std::move(request),
           [start, &histogram, respond = std::move(respond)](HttpResponse response) mutable {
             histogram.Observe(std::chrono::duration<double>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
             std::move(respond)(std::move(response));
           });
}

void GatewayHandler::Dispatch(HttpRequest request, Responder respond) {
  const std::string& path = request.path;
  if (IsPublic(path) && request.method != "GET" && request.method != "HEAD") {
    return Finish(path, MethodNotAllowed("GET, HEAD", path),
                  std::move(respond));
  }
  // No request body is read compressed (RFC 9110 8.4: 415 names what is
  // accepted). The 401 of a wrong token came before, from OnHeaders.
  if (const std::string coding = request.Header("content-encoding");
      !coding.empty() && !absl::EqualsIgnoreCase(coding, "identity")) {
    HttpResponse response = ErrorResponse(
        415, "unsupported_media_type",
        "the body must not be compressed (Content-Encoding: identity)");
    response.headers.emplace_back("Accept-Encoding", "identity");
    return Finish(path, std::move(response), std::move(respond));
  }
  if (path == "/healthz") {
    return Finish(path, Json(200, "{\"status\":\"ok\"}"), std::move(respond));
  }
  if (path == "/readyz") {
    std::string why;
    if (readiness_ == nullptr || readiness_->Ready(&why)) {
      return Finish(path, Json(200, "{\"status\":\"ready\"}"), std::move(respond));
    }
    return Finish(path, ErrorResponse(503, "not_ready", why), std::move(respond));
  }
  if (path == "/metrics") return Finish(path, Metrics(), std::move(respond));
  if (path == "/") {
    HttpResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body = kStaticIndexHtml;
    page.headers.emplace_back("Cache-Control", "no-cache");
    page.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; connect-src 'self'");
    return Finish(path, std::move(page), std::move(respond));
  }
  if (path == "/v1/edits") {
    if (request.method != "POST") {
      return Finish(path, MethodNotAllowed("POST", path), std::move(respond));
    }
    return HandleEdits(std::move(request), std::move(respond));
  }
  if (path == "/v1/changes" || path == "/v1/rows") {
    // HEAD reads like GET (RFC 9110 9.3.2); the server sends no body.
    if (request.method != "GET" && request.method != "HEAD") {
      return Finish(path, MethodNotAllowed("GET, HEAD", path),
                    std::move(respond));
    }
    if (path == "/v1/changes") return HandleChanges(request, std::move(respond));
    return HandleRows(request, std::move(respond));
  }
  if (IsAdminPath(path)) {
    return HandleAdmin(std::move(request), std::move(respond));
  }
  Finish("other", ErrorResponse(404, "not_found",
                                absl::StrCat("no route for ", path)),
         std::move(respond));
}

namespace {

// The answer to POST /v1/edits once ingest has answered.
HttpResponse EditsResponse(const grpc::Status& status,
                           const v1::SubmitResponse& submitted) {
  if (!status.ok()) return FromGrpc(status);
  std::string results = RenderResults(submitted);
  if (AllRejected(submitted)) {
    // The contract's error body, with the per-change reasons beside it.
    return Json(422, absl::StrCat("{\"error\":{\"code\":\"all_rejected\","
                                  "\"message\":\"every change in the request "
                                  "was rejected; see results\"},",
                                  results.substr(1)));
  }
  return Json(200, std::move(results));
}

}  // namespace

void GatewayHandler::HandleEdits(HttpRequest request, Responder respond) {
  auto call = std::make_shared<EditsCall>();
  call->received = std::chrono::steady_clock::now();
  if (absl::Status parsed = ParseEditsBodyInto(request.body, call->request); !parsed.ok()) {
    return Finish("/v1/edits",
                  ErrorResponse(400, "bad_request", parsed.message()),
                  std::move(respond));
  }
  call->respond = std::move(respond);
  call->hold = backend_calls_.Add();
  SetDeadline(call->context, options_.ingest_timeout);
  // One trace id follows the edit through ingest, resolver and writer logs.
  call->trace_id = NewTraceId();
  call->context.AddMetadata(kTraceMetadataKey, call->trace_id);
  loop_.Call(
      ingest_, &v1::Ingest::StubInterface::PrepareAsyncSubmit,
      "/sheetsync.v1.Ingest/Submit", &call->context, call->request,
      &call->response, [this, call](grpc::Status status) {
        LogAccess("edits",
                  {{"trace_id", call->trace_id},
                   {"changes", std::to_string(call->request.changes_size())},
                   {"code", std::to_string(status.error_code())}});
        if (status.ok() && CommittedAny(call->response)) {
          metrics_.ObserveApplySeconds(
              std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            call->received)
                  .count());
        }
        HttpResponse response = EditsResponse(status, call->response);
        // The id to look for in every service's log lines.
        response.headers.emplace_back("X-Trace-Id", call->trace_id);
        Finish("/v1/edits", std::move(response), std::move(call->respond));
      });
}

HttpResponse GatewayHandler::Metrics() const {
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : ProcessCollector().Collect()) families.push_back(std::move(family));
  response.body = prometheus::TextSerializer().Serialize(families);
  return response;
}

void GatewayHandler::Finish(const std::string& route, HttpResponse response,
                            Responder respond) {
  http_requests_.Add({{"route", route}, {"code", std::to_string(response.status)}})
      .Increment();
  std::move(respond)(std::move(response));
}

}  // namespace sheetsync::gateway
