#include "services/resolver/resolver_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

grpc::Status ResolverService::Resolve(grpc::ServerContext* context,
                                      const v1::ResolveRequest* request,
                                      v1::ResolveResponse* response) {
  absl::StatusOr<v1::ResolveResponse> result =
      resolver_.Resolve(*request, context);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace sheetsync
