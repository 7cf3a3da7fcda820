#include "services/resolver/resolver_service.h"

namespace sheetsync {

void ResolverService::ServeOn(CompletionLoop& loop) {
  loop.Serve(service_, &v1::Resolver::AsyncService::RequestResolve,
             "/sheetsync.v1.Resolver/Resolve",
             [this](grpc::ServerContext* context, const v1::ResolveRequest& request,
                    v1::ResolveResponse* response, std::function<void(absl::Status)> done) {
               resolver_.Resolve(request, context, response, std::move(done));
             });
}

}  // namespace sheetsync
