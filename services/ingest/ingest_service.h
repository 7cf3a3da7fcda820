// IngestService: the gRPC adapter of Ingest, served on a CompletionLoop: the
// loop's one thread takes each Submit, calls the resolver and answers, and
// each call's messages live on one arena. Thread-safe.
#ifndef SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
#define SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_

#include "services/common/completion_loop.h"
#include "services/ingest/ingest.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

class IngestService {
 public:
  // `ingest` must outlive the service.
  explicit IngestService(Ingest& ingest) : ingest_(ingest) {}

  // The service to register on the server (GrpcServer::Start).
  grpc::Service* service() { return &service_; }
  // Once the server is built: has `loop` answer Submit.
  void ServeOn(CompletionLoop& loop);

 private:
  Ingest& ingest_;
  v1::Ingest::AsyncService service_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_INGEST_INGEST_SERVICE_H_
