// ResolverService: the gRPC adapter of Resolver, served on a CompletionLoop:
// the loop's one thread takes each Resolve and the writer's answers, and each
// call's messages live on one arena. Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
#define SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_

#include "services/common/completion_loop.h"
#include "services/resolver/resolver.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class ResolverService {
 public:
  // `resolver` must outlive the service.
  explicit ResolverService(Resolver& resolver) : resolver_(resolver) {}

  // The service to register on the server (GrpcServer::Start).
  grpc::Service* service() { return &service_; }
  // Once the server is built: has `loop` answer Resolve.
  void ServeOn(CompletionLoop& loop);

 private:
  Resolver& resolver_;
  v1::Resolver::AsyncService service_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
