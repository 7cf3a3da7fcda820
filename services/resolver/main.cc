// sheetsync-resolver: the single conflict-resolution authority.
#include "absl/flags/flag.h"
#include "services/common/grpc_server.h"
#include "services/common/grpc_tls_flags.h"
#include "services/common/grpc_util.h"
#include "services/common/metrics.h"
#include "services/common/process.h"
#include "services/common/schema_cache.h"
#include "services/resolver/capture_poller.h"
#include "services/resolver/resolver.h"
#include "services/resolver/resolver_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7002", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9102",
          "Prometheus /metrics listen address");
ABSL_FLAG(std::string, writer_addr, "127.0.0.1:7003",
          "Writer address(es): host:port[,host:port...] or dns:///name:port");
ABSL_FLAG(absl::Duration, writer_timeout, absl::Seconds(10),
          "Deadline of each call to the writer");
ABSL_FLAG(absl::Duration, capture_interval, absl::Milliseconds(200),
          "How often captured MySQL edits are claimed and merged");
ABSL_FLAG(std::string, read_first, "auto",
          "Read the stored state before planning a batch: always, never (plan "
          "against nothing stored; the commit's checks refuse a wrong guess) or "
          "auto (never while such plans mostly commit, per table)");
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
  // The loop observes the calls made through it; the capture poller's
  // blocking calls go through a channel of their own, with interceptors.
  auto writer = v1::Writer::NewStub(MakeChannel(absl::GetFlag(FLAGS_writer_addr), tls));
  auto poller_writer =
      v1::Writer::NewStub(MakeChannel(absl::GetFlag(FLAGS_writer_addr), tls, &observer));
  CompletionLoop loop(&observer);  // the schemas load through it too
  SchemaCache schemas(DescribeTableLoader(*writer, loop, absl::Seconds(5)), clock,
                      absl::Seconds(5));
  ResolverOptions options;
  options.writer_timeout = absl::GetFlag(FLAGS_writer_timeout);
  absl::StatusOr<ReadPolicy::Mode> read_first =
      ReadPolicy::ParseMode(absl::GetFlag(FLAGS_read_first));
  if (!read_first.ok()) DieOnBadConfig(read_first.status().ToString());
  options.read_first = *read_first;
  Resolver resolver(*writer, schemas, metrics, loop, options);
  ResolverService service(resolver);
  auto server = GrpcServer::Start(absl::GetFlag(FLAGS_listen), {service.service()}, tls,
                                  &observer, &loop);
  if (!server.ok()) DieOnBadConfig(server.status().ToString());
  service.ServeOn(loop);
  loop.Start();
  CapturePollerOptions capture;
  capture.interval = absl::GetFlag(FLAGS_capture_interval);
  CapturePoller poller(*poller_writer, resolver, metrics, clock, capture);
  poller.Start();
  LogInfo("serving", {{"listen", absl::GetFlag(FLAGS_listen)}});

  const std::string signal = WaitForTermination();
  LogInfo("draining", {{"signal", signal}});
  poller.Stop();
  (*server)->Shutdown(absl::GetFlag(FLAGS_drain_timeout));
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace sheetsync

int main(int argc, char** argv) {
  sheetsync::InitProcess("resolver", argc, argv);
  return sheetsync::Main();
}
