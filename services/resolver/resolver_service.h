// ResolverService: the gRPC adapter of Resolver, on gRPC's callback API: no
// thread waits while the writer works, and each call's messages live on one
// arena. Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
#define SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_

#include "services/common/grpc_util.h"
#include "services/resolver/resolver.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class ResolverService final : public v1::Resolver::CallbackService {
 public:
  // `resolver` must outlive the service.
  explicit ResolverService(Resolver& resolver);

  grpc::ServerUnaryReactor* Resolve(grpc::CallbackServerContext* context,
                                    const v1::ResolveRequest* request,
                                    v1::ResolveResponse* response) override;

 private:
  Resolver& resolver_;
  ArenaMessageAllocator<v1::ResolveRequest, v1::ResolveResponse> allocator_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_RESOLVER_SERVICE_H_
