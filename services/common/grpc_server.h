// A gRPC server with the standard health service, reflection and a graceful
// drain, shared by ingest, resolver and writer. Thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_GRPC_SERVER_H_
#define SHEETSYNC_SERVICES_COMMON_GRPC_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/completion_loop.h"
#include "services/common/grpc_tls.h"
#include "services/common/rpc_observer.h"

namespace sheetsync {

class GrpcServer {
 public:
  // Binds `listen` ("host:port"; port 0 picks one) and serves `services`,
  // which must outlive the server. Health starts SERVING. With `tls` enabled
  // every client must present a certificate of its CA (health checks too).
  // `observer` (may be null) instruments every call through interceptors
  // and must outlive the server. With a `loop` (may be null; must outlive
  // the server), the loop answers the health service and gets a completion
  // queue; the caller then has it serve the async services and starts it.
  // The loop observes the calls it serves itself (with an observer of its
  // own), so with one the server installs no interceptor.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& listen, const std::vector<grpc::Service*>& services,
      const GrpcTls& tls, RpcObserver* observer = nullptr,
      CompletionLoop* loop = nullptr);

  ~GrpcServer();

  int port() const { return port_; }

  // Sets the overall (empty-name) health status.
  void SetServing(bool serving);

  // Reports NOT_SERVING, stops taking new calls, lets calls in flight finish
  // for up to `drain`, then cancels what is left (and shuts the loop down).
  // Idempotent.
  void Shutdown(absl::Duration drain);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port, CompletionLoop* loop)
      : server_(std::move(server)), port_(port), loop_(loop) {}

  std::unique_ptr<grpc::Server> server_;
  int port_;
  CompletionLoop* const loop_;
  bool shut_down_ = false;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_GRPC_SERVER_H_
