#include "services/writer/admin_service.h"

namespace sheetsync {

void AdminService::ServeOn(CompletionLoop& loop) {
  using Service = v1::Admin::AsyncService;
  loop.Serve(service_, &Service::RequestListRegisteredTables,
             "/sheetsync.v1.Admin/ListRegisteredTables",
             OnPool<v1::ListRegisteredTablesRequest, v1::ListRegisteredTablesResponse>(
                 workers_, [this](const v1::ListRegisteredTablesRequest&) {
                   v1::ListRegisteredTablesResponse response;
                   for (v1::RegisteredTable& table : registry_.List()) {
                     *response.add_tables() = std::move(table);
                   }
                   return absl::StatusOr<v1::ListRegisteredTablesResponse>(
                       std::move(response));
                 }));
  loop.Serve(service_, &Service::RequestGetRegisteredTable,
             "/sheetsync.v1.Admin/GetRegisteredTable",
             OnPool<v1::GetRegisteredTableRequest, v1::RegisteredTable>(
                 workers_, [this](const v1::GetRegisteredTableRequest& request) {
                   return registry_.Get(request.name());
                 }));
  loop.Serve(service_, &Service::RequestPutRegisteredTable,
             "/sheetsync.v1.Admin/PutRegisteredTable",
             OnPool<v1::PutRegisteredTableRequest, v1::RegisteredTable>(
                 workers_, [this](const v1::PutRegisteredTableRequest& request) {
                   return registry_.Put(request.table());
                 }));
  loop.Serve(service_, &Service::RequestDeleteRegisteredTable,
             "/sheetsync.v1.Admin/DeleteRegisteredTable",
             OnPool<v1::DeleteRegisteredTableRequest, v1::DeleteRegisteredTableResponse>(
                 workers_, [this](const v1::DeleteRegisteredTableRequest& request)
                               -> absl::StatusOr<v1::DeleteRegisteredTableResponse> {
                   absl::Status deleted = registry_.Delete(request.name());
                   if (!deleted.ok()) return deleted;
                   return v1::DeleteRegisteredTableResponse();
                 }));
}

}  // namespace sheetsync
