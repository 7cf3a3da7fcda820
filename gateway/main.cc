// sheetsync-gateway: the HTTP/JSON front door that Apps Script calls.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gateway/gateway_handler.h"
#include "gateway/http_server.h"
#include "gateway/readiness.h"
#include "services/common/grpc_tls_flags.h"
#include "services/common/grpc_util.h"
#include "services/common/process.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "HTTP listen address");
ABSL_FLAG(std::string, ingest_addr, "127.0.0.1:7001",
          "Ingest address(es): host:port[,host:port...] or dns:///name:port");
ABSL_FLAG(std::string, writer_addr, "127.0.0.1:7003",
          "Writer address(es), for the change feed and snapshots");
ABSL_FLAG(std::string, ready_addrs, "127.0.0.1:7001",
          "Backends /readyz checks (gRPC health), separated by ',' or ';'; "
          "each may also be a dns:/// target");
ABSL_FLAG(std::string, token, "",
          "Bearer token (default: $SHEETSYNC_GATEWAY_TOKEN)");
ABSL_FLAG(std::string, token_file, "",
          "File holding the token (default: $SHEETSYNC_GATEWAY_TOKEN_FILE)");
ABSL_FLAG(std::string, admin_token, "",
          "Bearer token of the admin routes /v1/admin/tables (table "
          "registry); empty: those routes are off");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain) of the HTTPS listener; with --tls_key the "
          "gateway serves HTTPS only (TLS 1.2+), without both plain HTTP");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(int, threads, 2, "HTTP server threads");
ABSL_FLAG(double, rate_limit, 1000,
          "Requests per second one token may make on average (0: no limit)");
ABSL_FLAG(double, rate_burst, 2000, "Requests one token may make at once");
ABSL_FLAG(int, max_inflight, 64,
          "Requests handled at once (bodies held in memory, backend calls); "
          "beyond it: 503 overloaded with Retry-After, the body unread");
ABSL_FLAG(int, max_connections, 2000,
          "Open client connections; beyond it new ones are closed at once");
ABSL_FLAG(absl::Duration, ingest_timeout, absl::Seconds(30),
          "Deadline of each call to ingest");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "How long SIGTERM waits for requests in flight");

namespace sheetsync::gateway {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string LoadToken() {
  std::string token = absl::GetFlag(FLAGS_token);
  if (token.empty()) token = Env("SHEETSYNC_GATEWAY_TOKEN");
  std::string file = absl::GetFlag(FLAGS_token_file);
  if (file.empty()) file = Env("SHEETSYNC_GATEWAY_TOKEN_FILE");
  if (token.empty() && !file.empty()) {
    std::ifstream in(file);
    if (!in) DieOnBadConfig("cannot read the token file " + file);
    std::stringstream contents;
    contents << in.rdbuf();
    token = std::string(absl::StripAsciiWhitespace(contents.str()));
  }
  if (token.empty()) {
    DieOnBadConfig("no token: set SHEETSYNC_GATEWAY_TOKEN or --token_file");
  }
  return token;
}

HttpServerOptions ServerOptions() {
  HttpServerOptions options;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &options.port)) {
    DieOnBadConfig("--listen must be host:port, got " + listen);
  }
  options.address = listen.substr(0, colon);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    DieOnBadConfig("--tls_cert and --tls_key go together");
  }
  const int max_inflight = absl::GetFlag(FLAGS_max_inflight);
  const int max_connections = absl::GetFlag(FLAGS_max_connections);
  if (max_inflight < 1 || max_connections < 1) {
    DieOnBadConfig("--max_inflight and --max_connections must be at least 1");
  }
  options.max_inflight = static_cast<size_t>(max_inflight);
  options.max_connections = static_cast<size_t>(max_connections);
  return options;
}

int Main() {
  const GrpcTls tls = GrpcTlsFromFlags();
  const HttpServerOptions server_options = ServerOptions();
  GatewayOptions options;
  options.token = LoadToken();
  options.ingest_timeout = absl::GetFlag(FLAGS_ingest_timeout);
  options.admin_token = absl::GetFlag(FLAGS_admin_token);
  options.rate_per_second = absl::GetFlag(FLAGS_rate_limit);
  options.rate_burst = absl::GetFlag(FLAGS_rate_burst);
  if (!options.admin_token.empty() && options.admin_token == options.token) {
    DieOnBadConfig("--admin_token must differ from the edit token");
  }
  std::vector<std::string> ready_addrs =
      absl::StrSplit(absl::GetFlag(FLAGS_ready_addrs), absl::ByAnyChar(",;"),
                     absl::SkipWhitespace());

  auto registry = std::make_shared<prometheus::Registry>();
  RpcObserver observer(*registry);
  // Every backend call goes through the loop, which observes it: the
  // channels need no interceptors.
  auto ingest = v1::Ingest::NewStub(MakeChannel(absl::GetFlag(FLAGS_ingest_addr), tls));
  auto writer_channel = MakeChannel(absl::GetFlag(FLAGS_writer_addr), tls);
  auto writer = v1::Writer::NewStub(writer_channel);
  auto admin = v1::Admin::NewStub(writer_channel);
  options.admin = admin.get();
  Readiness readiness(ready_addrs, tls, absl::Milliseconds(500));
  CompletionLoop loop(&observer);  // the backend calls' answers (completion_loop.h)
  loop.Start();
  GatewayHandler handler(*ingest, *writer, &readiness, registry, loop, options);
  auto server = HttpServer::Start(server_options, handler);
  if (!server.ok()) DieOnBadConfig(server.status().ToString());
  LogInfo(
      "serving",
      {{"listen", absl::GetFlag(FLAGS_listen)},
       {"scheme", server_options.tls_cert_file.empty() ? "http" : "https"}});

  const std::string signal = WaitForTermination();
  LogInfo("draining", {{"signal", signal}});
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  // Nobody waits for the backend calls still in flight now: cancel them, so
  // that the handler's wait for their callbacks ends now, not at their
  // deadlines (--ingest_timeout).
  loop.Shutdown();
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace sheetsync::gateway

int main(int argc, char** argv) {
  sheetsync::InitProcess("gateway", argc, argv);
  return sheetsync::gateway::Main();
}
