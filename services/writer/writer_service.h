// WriterService: the gRPC adapter of the writer, the only process that
// touches MySQL. Converts between the proto API and a VersionStore and maps
// absl::Status to gRPC status. Thread-safe (the store is).
#ifndef SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
#define SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_

#include "services/common/completion_loop.h"
#include "services/common/worker_pool.h"
#include "services/writer/apply_grouper.h"
#include "services/writer/version_store.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

// Served on a CompletionLoop, whose one thread takes every call and never
// waits for MySQL: Apply goes to the grouper, whose threads commit and
// answer; the other methods run on a WorkerPool, whose threads answer.
class WriterService {
 public:
  // `store`, `grouper` and `workers` must outlive the service and its
  // calls; `grouper` applies through the store.
  WriterService(VersionStore& store, ApplyGrouper& grouper, WorkerPool& workers)
      : store_(store), grouper_(grouper), workers_(workers) {}

  // The service to register on the server (GrpcServer::Start).
  grpc::Service* service() { return &service_; }
  // Once the server is built: has `loop` take the calls.
  void ServeOn(CompletionLoop& loop);

 private:
  VersionStore& store_;
  ApplyGrouper& grouper_;
  WorkerPool& workers_;
  v1::Writer::AsyncService service_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_WRITER_SERVICE_H_
