// AdminService: the gRPC adapter of the table registry's Admin API (served
// by the writer; the gateway exposes it as /v1/admin/tables). Maps
// absl::Status to gRPC status. Served on a CompletionLoop; the registry's
// work (MySQL) runs on a WorkerPool. Thread-safe (the registry is).
#ifndef SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_
#define SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_

#include "services/common/completion_loop.h"
#include "services/common/worker_pool.h"
#include "services/writer/registry.h"
#include "sheetsync/v1/registry.grpc.pb.h"

namespace sheetsync {

class AdminService {
 public:
  // `registry` and `workers` must outlive the service and its calls.
  AdminService(TableRegistry& registry, WorkerPool& workers)
      : registry_(registry), workers_(workers) {}

  // The service to register on the server (GrpcServer::Start).
  grpc::Service* service() { return &service_; }
  // Once the server is built: has `loop` take the calls.
  void ServeOn(CompletionLoop& loop);

 private:
  TableRegistry& registry_;
  WorkerPool& workers_;
  v1::Admin::AsyncService service_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_
