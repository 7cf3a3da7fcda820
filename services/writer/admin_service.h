// AdminService: the gRPC adapter of the table registry's Admin API (served
// by the writer; the gateway exposes it as /v1/admin/tables). Maps
// absl::Status to gRPC status. Thread-safe (the registry is).
#ifndef SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_
#define SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_

#include "services/writer/registry.h"
#include "sheetsync/v1/registry.grpc.pb.h"

namespace sheetsync {

class AdminService final : public v1::Admin::Service {
 public:
  // `registry` must outlive the service.
  explicit AdminService(TableRegistry& registry) : registry_(registry) {}

  grpc::Status ListRegisteredTables(
      grpc::ServerContext* context,
      const v1::ListRegisteredTablesRequest* request,
      v1::ListRegisteredTablesResponse* response) override;
  grpc::Status GetRegisteredTable(grpc::ServerContext* context,
                                  const v1::GetRegisteredTableRequest* request,
                                  v1::RegisteredTable* response) override;
  grpc::Status PutRegisteredTable(grpc::ServerContext* context,
                                  const v1::PutRegisteredTableRequest* request,
                                  v1::RegisteredTable* response) override;
  grpc::Status DeleteRegisteredTable(
      grpc::ServerContext* context,
      const v1::DeleteRegisteredTableRequest* request,
      v1::DeleteRegisteredTableResponse* response) override;

 private:
  TableRegistry& registry_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_ADMIN_SERVICE_H_
