#include "services/resolver/resolver_service.h"

namespace sheetsync {

ResolverService::ResolverService(Resolver& resolver) : resolver_(resolver) {
  SetMessageAllocatorFor_Resolve(&allocator_);
}

grpc::ServerUnaryReactor* ResolverService::Resolve(
    grpc::CallbackServerContext* context, const v1::ResolveRequest* request,
    v1::ResolveResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  resolver_.Resolve(*request, context, response, [reactor](absl::Status status) {
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace sheetsync
