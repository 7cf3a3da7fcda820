#include "services/common/grpc_server.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace sheetsync {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& listen, const std::vector<grpc::Service*>& services,
    const GrpcTls& tls, RpcObserver* observer, CompletionLoop* loop) {
  // gRPC's own health service runs on its callback threads, which a loop's
  // process must not have polling (completion_loop.h).
  grpc::EnableDefaultHealthCheckService(loop == nullptr);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, tls.ServerCredentials(), &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (loop != nullptr) loop->Attach(builder);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Recycle connections now and then so that clients re-resolve dns:///
  // targets and spread over replicas added by scaling up.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 30 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             10000);
  // Keep a pool of handler threads alive under load: with gRPC's default
  // (at most 2 idle pollers) a burst of concurrent calls makes the sync
  // server create and destroy a thread per call.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 32);
  // A loop observes the calls it serves itself: gRPC's interceptors cost
  // ~12 % of a one-change edit's latency (README, Performance, session 8).
  if (observer != nullptr && loop == nullptr) {
    builder.experimental().SetInterceptorCreators(observer->ServerInterceptors());
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), port, loop));
}

GrpcServer::~GrpcServer() { Shutdown(absl::Seconds(1)); }

void GrpcServer::SetServing(bool serving) {
  if (loop_ != nullptr) return loop_->SetServing(serving);
  server_->GetHealthCheckService()->SetServingStatus(serving);
}

void GrpcServer::Shutdown(absl::Duration drain) {
  if (shut_down_) return;
  shut_down_ = true;
  SetServing(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + drain));
  if (loop_ != nullptr) loop_->Shutdown();  // after the server's, as gRPC requires
  server_->Wait();
}

}  // namespace sheetsync
