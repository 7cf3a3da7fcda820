// MysqlRegistryBackend: the table registry's storage in MySQL. Registrations
// made through the Admin API live in _sheetsync_registry (one row per table,
// the TableConfig as JSON), so every writer replica reads the same set; the
// registered set is handed to a MysqlVersionStore. Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_MYSQL_REGISTRY_H_
#define SHEETSYNC_SERVICES_WRITER_MYSQL_REGISTRY_H_

#include <string>
#include <vector>

#include "services/common/clock.h"
#include "services/writer/mysql_pool.h"
#include "services/writer/mysql_version_store.h"
#include "services/writer/registry.h"

namespace sheetsync {

// Returns the store's registration for a table's configuration.
TableRegistration ToRegistration(const v1::TableConfig& config);

class MysqlRegistryBackend final : public RegistryBackend {
 public:
  // Every reference must outlive the backend.
  MysqlRegistryBackend(MysqlPool& pool, MysqlVersionStore& store,
                       const Clock& clock)
      : pool_(pool), store_(store), clock_(clock) {}

  absl::StatusOr<std::vector<v1::TableConfig>> LoadStored() override;
  absl::Status Store(const v1::TableConfig& config) override;
  absl::Status Unstore(const std::string& table) override;
  absl::Status CreateIfMissing(const v1::TableConfig& config) override;
  absl::Status Activate(const std::vector<v1::TableConfig>& tables) override;
  absl::StatusOr<v1::TableSchema> Inspect(
      const v1::TableConfig& config) override;
  absl::StatusOr<v1::TableSchema> Describe(const std::string& table) override;

 private:
  MysqlPool& pool_;
  MysqlVersionStore& store_;
  const Clock& clock_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_MYSQL_REGISTRY_H_
