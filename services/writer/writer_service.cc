#include "services/writer/writer_service.h"

namespace sheetsync {

void WriterService::ServeOn(CompletionLoop& loop) {
  using Service = v1::Writer::AsyncService;
  loop.Serve(
      service_, &Service::RequestApply, "/sheetsync.v1.Writer/Apply",
      [this](grpc::ServerContext* context, const v1::ApplyRequest& request,
             v1::ApplyResponse* response,
             std::function<void(absl::Status)> done) {
        // Not applied when the caller's deadline passes while it waits
        // for a transaction; once taken, committed even if the caller
        // gives up meanwhile: that acknowledges nothing to anyone, but
        // it is correct (the plan is idempotent through its revs).
        grouper_.Apply(
            request,
            [response,
             done = std::move(done)](absl::StatusOr<v1::ApplyResponse> result) {
              if (result.ok()) *response = *std::move(result);
              done(result.status());
            },
            context->deadline());
      });
  loop.Serve(service_, &Service::RequestDescribeTable,
             "/sheetsync.v1.Writer/DescribeTable",
             OnPool<v1::DescribeTableRequest, v1::TableSchema>(
                 workers_, [this](const v1::DescribeTableRequest& request) {
                   return store_.DescribeTable(request.table());
                 }));
  loop.Serve(service_, &Service::RequestReadState,
             "/sheetsync.v1.Writer/ReadState",
             OnPool<v1::ReadStateRequest, v1::ReadStateResponse>(
                 workers_, [this](const v1::ReadStateRequest& request) {
                   return store_.ReadState(request);
                 }));
  loop.Serve(service_, &Service::RequestListTables,
             "/sheetsync.v1.Writer/ListTables",
             OnPool<v1::ListTablesRequest, v1::ListTablesResponse>(
                 workers_, [this](const v1::ListTablesRequest&) {
                   v1::ListTablesResponse response;
                   for (const std::string& table : store_.ListTables()) {
                     response.add_tables(table);
                   }
                   return absl::StatusOr<v1::ListTablesResponse>(std::move(response));
                 }));
  loop.Serve(service_, &Service::RequestClaimCapture,
             "/sheetsync.v1.Writer/ClaimCapture",
             OnPool<v1::ClaimCaptureRequest, v1::ClaimCaptureResponse>(
                 workers_, [this](const v1::ClaimCaptureRequest& request) {
                   return store_.ClaimCapture(request);
                 }));
  loop.Serve(service_, &Service::RequestReadFeed,
             "/sheetsync.v1.Writer/ReadFeed",
             OnPool<v1::ReadFeedRequest, v1::ReadFeedResponse>(
                 workers_, [this](const v1::ReadFeedRequest& request) {
                   return store_.ReadFeed(request);
                 }));
  loop.Serve(service_, &Service::RequestReadRows,
             "/sheetsync.v1.Writer/ReadRows",
             OnPool<v1::ReadRowsRequest, v1::ReadRowsResponse>(
                 workers_, [this](const v1::ReadRowsRequest& request) {
                   return store_.ReadRows(request);
                 }));
}

}  // namespace sheetsync
