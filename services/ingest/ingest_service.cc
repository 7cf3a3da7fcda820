#include "services/ingest/ingest_service.h"

namespace sheetsync {

IngestService::IngestService(Ingest& ingest) : ingest_(ingest) {
  SetMessageAllocatorFor_Submit(&allocator_);
}

grpc::ServerUnaryReactor* IngestService::Submit(
    grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
    v1::SubmitResponse* response) {
  return FinishWhenDone(context, [&](auto done) {
    ingest_.Submit(*request, context, response, std::move(done));
  });
}

}  // namespace sheetsync
