#include "services/ingest/ingest_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

grpc::Status IngestService::Submit(grpc::ServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitResponse* response) {
  return AnswerWith(ingest_.Submit(*request, context), response);
}

}  // namespace sheetsync
