// WriterService: the gRPC adapter of the writer, the only process that
// touches MySQL. Converts between the proto API and a VersionStore and maps
// absl::Status to gRPC status. Thread-safe (the store is).
#ifndef SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
#define SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_

#include "services/common/grpc_util.h"
#include "services/writer/apply_grouper.h"
#include "services/writer/version_store.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

// Apply is served on gRPC's callback API: the grouper's threads commit and
// answer, no gRPC thread waits for MySQL, and each call's messages live on
// one arena. The other methods are synchronous.
class WriterService final : public v1::Writer::WithCallbackMethod_Apply<v1::Writer::Service> {
 public:
  // `store` and `grouper` must outlive the service; `grouper` applies
  // through the store.
  WriterService(VersionStore& store, ApplyGrouper& grouper);

  grpc::Status DescribeTable(grpc::ServerContext* context,
                             const v1::DescribeTableRequest* request,
                             v1::TableSchema* response) override;
  grpc::Status ReadState(grpc::ServerContext* context,
                         const v1::ReadStateRequest* request,
                         v1::ReadStateResponse* response) override;
  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* context,
                                  const v1::ApplyRequest* request,
                                  v1::ApplyResponse* response) override;
  grpc::Status ListTables(grpc::ServerContext* context,
                          const v1::ListTablesRequest* request,
                          v1::ListTablesResponse* response) override;
  grpc::Status ClaimCapture(grpc::ServerContext* context,
                            const v1::ClaimCaptureRequest* request,
                            v1::ClaimCaptureResponse* response) override;
  grpc::Status ReadFeed(grpc::ServerContext* context,
                        const v1::ReadFeedRequest* request,
                        v1::ReadFeedResponse* response) override;
  grpc::Status ReadRows(grpc::ServerContext* context,
                        const v1::ReadRowsRequest* request,
                        v1::ReadRowsResponse* response) override;

 private:
  VersionStore& store_;
  ApplyGrouper& grouper_;
  ArenaMessageAllocator<v1::ApplyRequest, v1::ApplyResponse> allocator_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
