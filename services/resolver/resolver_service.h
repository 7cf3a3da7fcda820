// ResolverService: the gRPC adapter of Resolver. Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
#define SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_

#include "services/resolver/resolver.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class ResolverService final : public v1::Resolver::Service {
 public:
  // `resolver` must outlive the service.
  explicit ResolverService(Resolver& resolver) : resolver_(resolver) {}

  grpc::Status Resolve(grpc::ServerContext* context,
                       const v1::ResolveRequest* request,
                       v1::ResolveResponse* response) override;

 private:
  Resolver& resolver_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
