// IngestService: the gRPC adapter of Ingest, on gRPC's callback API: no
// thread waits while the resolver works, and each call's messages live on
// one arena. Thread-safe.
#ifndef SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
#define SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_

#include "services/common/grpc_util.h"
#include "services/ingest/ingest.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class IngestService final : public v1::Ingest::CallbackService {
 public:
  // `ingest` must outlive the service.
  explicit IngestService(Ingest& ingest);

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitResponse* response) override;

 private:
  Ingest& ingest_;
  ArenaMessageAllocator<v1::SubmitRequest, v1::SubmitResponse> allocator_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
