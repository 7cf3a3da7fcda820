// WriterService: the gRPC adapter of the writer, the only process that
// touches MySQL. Converts between the proto API and a VersionStore and maps
// absl::Status to gRPC status. Thread-safe (the store is).
#ifndef SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
#define SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_

#include "services/writer/apply_grouper.h"
#include "services/writer/version_store.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class WriterService final : public v1::Writer::Service {
 public:
  // `store` and `grouper` (may be null: each Apply commits alone) must
  // outlive the service; `grouper` applies through the store.
  explicit WriterService(VersionStore& store, ApplyGrouper* grouper = nullptr)
      : store_(store), grouper_(grouper) {}

  grpc::Status DescribeTable(grpc::ServerContext* context,
                             const v1::DescribeTableRequest* request,
                             v1::TableSchema* response) override;
  grpc::Status ReadState(grpc::ServerContext* context,
                         const v1::ReadStateRequest* request,
                         v1::ReadStateResponse* response) override;
  grpc::Status Apply(grpc::ServerContext* context,
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
  ApplyGrouper* grouper_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
