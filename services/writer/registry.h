// TableRegistry: which tables the writer syncs. Three sources feed one
// registry:
//   - the --tables flag (a shortcut: key column `uuid`),
//   - the registry file (--registry: the JSON of v1::RegistryFile, read with
//     protobuf's JSON parser), re-read whenever its mtime or size changes,
//   - registrations made through the Admin API, stored in MySQL so that every
//     writer replica sees them.
// The file overrides the flag for the same table; a table named by either
// cannot be changed or removed through the Admin API (ALREADY_EXISTS).
// Refresh() merges the sources and hands the result to a RegistryBackend
// (the MySQL store) when it changed. Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_REGISTRY_H_
#define SHEETSYNC_SERVICES_WRITER_REGISTRY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "sheetsync/v1/registry.pb.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

// Where the registry keeps what it needs in the database. Implementations
// are thread-safe.
class RegistryBackend {
 public:
  virtual ~RegistryBackend() = default;

  // Returns the registrations stored through the Admin API.
  virtual absl::StatusOr<std::vector<v1::TableConfig>> LoadStored() = 0;
  // Stores (or replaces) a registration.
  virtual absl::Status Store(const v1::TableConfig& config) = 0;
  // Removes a stored registration; NOT_FOUND when there is none.
  virtual absl::Status Unstore(const std::string& table) = 0;
  // Creates the table (key column CHAR(36) PRIMARY KEY, a TEXT NULL column
  // per header) unless it exists.
  virtual absl::Status CreateIfMissing(const v1::TableConfig& config) = 0;
  // Makes `tables` the synced set.
  virtual absl::Status Activate(const std::vector<v1::TableConfig>& tables) = 0;
  // Returns the schema `config` would sync, registering nothing.
  virtual absl::StatusOr<v1::TableSchema> Inspect(
      const v1::TableConfig& config) = 0;
  // Returns the schema of a registered table.
  virtual absl::StatusOr<v1::TableSchema> Describe(
      const std::string& table) = 0;
};

// Checks a table's configuration and fills in the defaults (key column
// `uuid`, sheet = name). INVALID_ARGUMENT names the field and the problem.
absl::StatusOr<v1::TableConfig> NormalizeTableConfig(v1::TableConfig config);

// Parses the registry file's JSON and normalises every table.
// INVALID_ARGUMENT on bad JSON, unknown fields, bad or duplicate tables.
absl::StatusOr<std::vector<v1::TableConfig>> ParseRegistryFile(
    absl::string_view json);

struct RegistrySources {
  std::vector<std::string> flag_tables;  // --tables
  std::string file;                      // --registry; empty: none
};

class TableRegistry {
 public:
  // `backend` must outlive the registry.
  TableRegistry(RegistryBackend& backend, RegistrySources sources);

  // Re-reads the file (when it changed) and the stored registrations, and
  // activates the merged set when it changed. With `strict` (start-up) a file
  // that cannot be read or parsed is an error; otherwise the last good
  // content stays in force and the problem is returned once, for the log.
  absl::Status Refresh(bool strict = false) ABSL_LOCKS_EXCLUDED(mu_);

  // Returns whether `table` is registered (as of the last Refresh).
  bool Contains(const std::string& table) ABSL_LOCKS_EXCLUDED(mu_);
  // Returns the tables registered by --tables or the file.
  std::vector<std::string> ConfiguredTables() ABSL_LOCKS_EXCLUDED(mu_);

  // The Admin API. Get: NOT_FOUND when not registered. Put: see
  // v1::Admin in registry.proto for its errors.
  std::vector<v1::RegisteredTable> List() ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<v1::RegisteredTable> Get(const std::string& table)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<v1::RegisteredTable> Put(v1::TableConfig config)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Delete(const std::string& table) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    v1::TableConfig config;
    std::string source;  // "flag", "file" or "admin"
  };
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const FileStamp& o) const {
      return mtime_ns == o.mtime_ns && size == o.size && inode == o.inode;
    }
  };

  absl::Status ReloadFile(bool strict) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads the stored registrations, merges and activates. With `strict`,
  // first checks that every table of the flag and the file can sync.
  absl::Status MergeAndActivate(bool strict) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns ALREADY_EXISTS when the flag or the file registers `table`.
  absl::Status CheckAdminOwned(const std::string& table)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns the entry with its schema, or why the table cannot sync.
  v1::RegisteredTable Describe(const Entry& entry);

  RegistryBackend& backend_;
  const RegistrySources sources_;
  absl::Mutex mu_;
  FileStamp file_stamp_ ABSL_GUARDED_BY(mu_);
  bool file_loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<v1::TableConfig> file_tables_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::string activated_ ABSL_GUARDED_BY(mu_);  // what the backend has
  bool ever_activated_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_REGISTRY_H_
