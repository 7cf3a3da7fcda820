// IngestService: the gRPC adapter of Ingest. Thread-safe.
#ifndef SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
#define SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_

#include "services/ingest/ingest.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class IngestService final : public v1::Ingest::Service {
 public:
  // `ingest` must outlive the service.
  explicit IngestService(Ingest& ingest) : ingest_(ingest) {}

  grpc::Status Submit(grpc::ServerContext* context,
                      const v1::SubmitRequest* request,
                      v1::SubmitResponse* response) override;

 private:
  Ingest& ingest_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
