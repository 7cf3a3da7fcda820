// sheetsync-ingest: validates and normalises changes, then hands them on.
#include "absl/flags/flag.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_tls_flags.h"
#include "services/common/grpc_util.h"
#include "services/common/metrics.h"
#include "services/common/process.h"
#include "services/common/schema_cache.h"
#include "services/ingest/ingest.h"
#include "services/ingest/ingest_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7001", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9101",
          "Prometheus /metrics listen address");
ABSL_FLAG(std::string, resolver_addr, "127.0.0.1:7002",
          "Resolver address(es): host:port[,host:port...] or dns:///name:port");
ABSL_FLAG(std::string, writer_addr, "127.0.0.1:7003",
          "Writer address(es), for table schemas");
ABSL_FLAG(absl::Duration, max_future_skew, absl::Seconds(300),
          "Changes stamped further ahead of this clock are rejected");
ABSL_FLAG(int, max_changes, 1000, "Most changes in one request");
ABSL_FLAG(absl::Duration, resolver_timeout, absl::Seconds(20),
          "Deadline of each call to the resolver");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "How long SIGTERM waits for calls in flight");

namespace sheetsync {
namespace {

int Main() {
  const GrpcTls tls = GrpcTlsFromFlags();
  auto registry = std::make_shared<prometheus::Registry>();
  SyncMetrics metrics(*registry);
  RpcObserver observer(*registry);
  auto exposer = StartMetricsExposer(absl::GetFlag(FLAGS_metrics_listen), registry);
  if (!exposer.ok()) DieOnBadConfig(exposer.status().ToString());

  RealClock clock;
  // Every call goes through the loop, which observes it: the channels need
  // no interceptors.
  auto writer = v1::Writer::NewStub(MakeChannel(absl::GetFlag(FLAGS_writer_addr), tls));
  auto resolver = v1::Resolver::NewStub(MakeChannel(absl::GetFlag(FLAGS_resolver_addr), tls));
  CompletionLoop loop(&observer);  // the schemas load through it too
  SchemaCache schemas(DescribeTableLoader(*writer, loop, absl::Seconds(5)), clock,
                      absl::Seconds(5));
  IngestOptions options;
  options.max_changes = absl::GetFlag(FLAGS_max_changes);
  options.max_future_skew = absl::GetFlag(FLAGS_max_future_skew);
  options.resolver_timeout = absl::GetFlag(FLAGS_resolver_timeout);
  if (options.max_changes < 1) DieOnBadConfig("--max_changes must be positive");
  Ingest ingest(*resolver, schemas, clock, metrics, loop, options);
  IngestService service(ingest);
  auto server = GrpcServer::Start(absl::GetFlag(FLAGS_listen), {service.service()}, tls,
                                  &observer, &loop);
  if (!server.ok()) DieOnBadConfig(server.status().ToString());
  service.ServeOn(loop);
  loop.Start();
  LogInfo("serving", {{"listen", absl::GetFlag(FLAGS_listen)}});

  const std::string signal = WaitForTermination();
  LogInfo("draining", {{"signal", signal}});
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace sheetsync

int main(int argc, char** argv) {
  sheetsync::InitProcess("ingest", argc, argv);
  return sheetsync::Main();
}
