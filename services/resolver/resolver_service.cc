#include "services/resolver/resolver_service.h"

namespace sheetsync {

ResolverService::ResolverService(Resolver& resolver) : resolver_(resolver) {
  SetMessageAllocatorFor_Resolve(&allocator_);
}

grpc::ServerUnaryReactor* ResolverService::Resolve(
    grpc::CallbackServerContext* context, const v1::ResolveRequest* request,
    v1::ResolveResponse* response) {
  return FinishWhenDone(context, [&](auto done) {
    resolver_.Resolve(*request, context, response, std::move(done));
  });
}

}  // namespace sheetsync
