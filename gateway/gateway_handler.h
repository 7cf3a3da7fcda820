// GatewayHandler: the routes of the HTTP gateway (contract section 2) on top
// of HttpServer — bearer-token auth, POST /v1/edits (JSON -> protobuf ->
// ingest over gRPC, asynchronously), /healthz, /readyz and /metrics.
// Thread-safe.
#ifndef SHEETSYNC_GATEWAY_GATEWAY_HANDLER_H_
#define SHEETSYNC_GATEWAY_GATEWAY_HANDLER_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "gateway/http_server.h"
#include "gateway/rate_limiter.h"
#include "gateway/readiness.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/common/clock.h"
#include "services/common/completion_loop.h"
#include "services/common/inflight.h"
#include "services/common/metrics.h"
#include "sheetsync/v1/registry.grpc.pb.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync::gateway {

struct GatewayOptions {
  std::string token;  // the bearer token every data route requires
  absl::Duration ingest_timeout = absl::Seconds(30);
  // The admin routes (admin_routes.cc): their own token, and the writer's
  // Admin service (must outlive the handler). Either empty: routes off.
  std::string admin_token;
  v1::Admin::StubInterface* admin = nullptr;
  // Per-token rate limit of the data routes (<= 0: off); over it: 429.
  double rate_per_second = 1000;
  double rate_burst = 2000;
};

// Returns true for the admin routes' paths (/v1/admin/...).
bool IsAdminPath(absl::string_view path);

// Returns the HTTP answer for a failed backend call: 400, 404, 410, 413, 503
// (with Retry-After) or 500.
HttpResponse FromGrpc(const grpc::Status& status);

// Returns true when `a` equals `b`, in time that depends only on a's length.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// Returns whether an Authorization header value carries `token` as Bearer
// credentials: the scheme in any case (RFC 7235), one or more spaces, the
// token compared in constant time.
bool BearerMatches(absl::string_view authorization, absl::string_view token);

// A 405 answer with the Allow header RFC 9110 asks for: `allow` lists the
// methods the route takes ("GET, PUT, DELETE").
HttpResponse MethodNotAllowed(absl::string_view allow, absl::string_view route);

// One asynchronous call to a backend service and the HTTP request waiting
// for its answer. `hold` counts it among the handler's calls in flight; it
// goes first, so it is released last.
template <typename Request, typename Response>
struct BackendCall {
  InflightCounter::Hold hold;
  grpc::ClientContext context;
  Request request;
  Response response;
  Responder respond;
};

class GatewayHandler final : public HttpHandler {
 public:
  // Every reference must outlive the handler. `readiness` may be null (then
  // /readyz always answers 200). The backend calls complete on `loop`
  // (started), whence the answers go to the connections' threads.
  GatewayHandler(v1::Ingest::StubInterface& ingest,
                 v1::Writer::StubInterface& writer, const Readiness* readiness,
                 std::shared_ptr<prometheus::Registry> registry, CompletionLoop& loop,
                 GatewayOptions options);
  // Waits for the backend calls in flight: their callbacks use the handler.
  // (Each has a deadline, so this ends.)
  ~GatewayHandler() override;

  std::optional<HttpResponse> OnHeaders(const HttpRequest& head) override;
  // Times the request per route, then dispatches it.
  void Handle(HttpRequest request, Responder respond) override;
  // Health probes, /metrics and the page answer also when saturated.
  bool BypassesInflightCap(const HttpRequest& head) const override;
  // Lane 1: the feed and the snapshot (served by the writer alone), so that
  // edits waiting on a stalled ingest or resolver do not take their slots.
  int InflightLane(const HttpRequest& head) const override;
  void OnServerAnswer(const HttpRequest& head, int status) override;

 private:
  void Dispatch(HttpRequest request, Responder respond);
  void HandleEdits(HttpRequest request, Responder respond);
  // GET /v1/changes and GET /v1/rows (feed_routes.cc).
  void HandleChanges(const HttpRequest& request, Responder respond);
  void HandleRows(const HttpRequest& request, Responder respond);
  HttpResponse Metrics() const;
  // The admin routes (admin_routes.cc).
  std::optional<HttpResponse> CheckAdminToken(const HttpRequest& head);
  // 429 when `token` (the one the request carried) is over its rate limit.
  std::optional<HttpResponse> RateLimited(const HttpRequest& head,
                                          const std::string& token);
  void HandleAdmin(HttpRequest request, Responder respond);
  void AdminList(Responder respond);
  void AdminGet(const std::string& name, Responder respond);
  void AdminPut(const std::string& name, const std::string& body,
                Responder respond);
  void AdminDelete(const std::string& name, Responder respond);
  // Counts the response and hands it to `respond`.
  void Finish(const std::string& route, HttpResponse response,
              Responder respond);

  v1::Ingest::StubInterface& ingest_;
  v1::Writer::StubInterface& writer_;
  const Readiness* readiness_;
  std::shared_ptr<prometheus::Registry> registry_;
  CompletionLoop& loop_;
  SyncMetrics metrics_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_seconds_;
  const GatewayOptions options_;
  RealClock clock_;
  RateLimiter limiter_;
  InflightCounter backend_calls_;
};

}  // namespace sheetsync::gateway

#endif  // SHEETSYNC_GATEWAY_GATEWAY_HANDLER_H_
