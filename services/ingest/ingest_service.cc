#include "services/ingest/ingest_service.h"

namespace sheetsync {

void IngestService::ServeOn(CompletionLoop& loop) {
  loop.Serve(service_, &v1::Ingest::AsyncService::RequestSubmit,
             "/sheetsync.v1.Ingest/Submit",
             [this](grpc::ServerContext* context, const v1::SubmitRequest& request,
                    v1::SubmitResponse* response, std::function<void(absl::Status)> done) {
               ingest_.Submit(request, context, response, std::move(done));
             });
}

}  // namespace sheetsync
