#include "services/writer/writer_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

WriterService::WriterService(VersionStore& store, ApplyGrouper& grouper)
    : store_(store), grouper_(grouper) {
  SetMessageAllocatorFor_Apply(&allocator_);
}

grpc::Status WriterService::DescribeTable(grpc::ServerContext*,
                                          const v1::DescribeTableRequest* request,
                                          v1::TableSchema* response) {
  return AnswerWith(store_.DescribeTable(request->table()), response);
}

grpc::Status WriterService::ReadState(grpc::ServerContext*,
                                      const v1::ReadStateRequest* request,
                                      v1::ReadStateResponse* response) {
  return AnswerWith(store_.ReadState(*request), response);
}

grpc::ServerUnaryReactor* WriterService::Apply(grpc::CallbackServerContext* context,
                                               const v1::ApplyRequest* request,
                                               v1::ApplyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Committing after the caller gave up would acknowledge nothing to anyone,
  // but it is still correct: the plan is idempotent through its revs.
  if (context->IsCancelled()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "caller went away"));
    return reactor;
  }
  grouper_.Apply(*request, [reactor, response](absl::StatusOr<v1::ApplyResponse> result) {
    reactor->Finish(AnswerWith(std::move(result), response));
  });
  return reactor;
}

grpc::Status WriterService::ListTables(grpc::ServerContext*,
                                       const v1::ListTablesRequest*,
                                       v1::ListTablesResponse* response) {
  for (const std::string& table : store_.ListTables()) {
    response->add_tables(table);
  }
  return grpc::Status::OK;
}

grpc::Status WriterService::ClaimCapture(grpc::ServerContext*,
                                         const v1::ClaimCaptureRequest* request,
                                         v1::ClaimCaptureResponse* response) {
  return AnswerWith(store_.ClaimCapture(*request), response);
}

grpc::Status WriterService::ReadFeed(grpc::ServerContext*,
                                     const v1::ReadFeedRequest* request,
                                     v1::ReadFeedResponse* response) {
  return AnswerWith(store_.ReadFeed(*request), response);
}

grpc::Status WriterService::ReadRows(grpc::ServerContext*,
                                     const v1::ReadRowsRequest* request,
                                     v1::ReadRowsResponse* response) {
  return AnswerWith(store_.ReadRows(*request), response);
}

}  // namespace sheetsync
