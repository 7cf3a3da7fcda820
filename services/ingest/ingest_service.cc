#include "services/ingest/ingest_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

grpc::Status IngestService::Submit(grpc::ServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitResponse* response) {
  absl::StatusOr<v1::SubmitResponse> result = ingest_.Submit(*request, context);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace sheetsync
