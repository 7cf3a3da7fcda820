#include "services/ingest/ingest_service.h"

namespace sheetsync {

IngestService::IngestService(Ingest& ingest) : ingest_(ingest) {
  SetMessageAllocatorFor_Submit(&allocator_);
}

grpc::ServerUnaryReactor* IngestService::Submit(
    grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
    v1::SubmitResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  ingest_.Submit(*request, context, response, [reactor](absl::Status status) {
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

}  // namespace sheetsync
