#include "services/resolver/resolver_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

grpc::Status ResolverService::Resolve(grpc::ServerContext* context,
                                      const v1::ResolveRequest* request,
                                      v1::ResolveResponse* response) {
  return AnswerWith(resolver_.Resolve(*request, context), response);
}

}  // namespace sheetsync
