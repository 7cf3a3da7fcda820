#include "services/writer/admin_service.h"

#include "services/common/grpc_util.h"

namespace sheetsync {

grpc::Status AdminService::ListRegisteredTables(
    grpc::ServerContext*, const v1::ListRegisteredTablesRequest*,
    v1::ListRegisteredTablesResponse* response) {
  for (v1::RegisteredTable& table : registry_.List()) {
    *response->add_tables() = std::move(table);
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::GetRegisteredTable(
    grpc::ServerContext*, const v1::GetRegisteredTableRequest* request,
    v1::RegisteredTable* response) {
  return AnswerWith(registry_.Get(request->name()), response);
}

grpc::Status AdminService::PutRegisteredTable(
    grpc::ServerContext*, const v1::PutRegisteredTableRequest* request,
    v1::RegisteredTable* response) {
  return AnswerWith(registry_.Put(request->table()), response);
}

grpc::Status AdminService::DeleteRegisteredTable(
    grpc::ServerContext*, const v1::DeleteRegisteredTableRequest* request,
    v1::DeleteRegisteredTableResponse*) {
  return ToGrpcStatus(registry_.Delete(request->name()));
}

}  // namespace sheetsync
