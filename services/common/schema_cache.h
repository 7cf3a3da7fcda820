// SchemaCache: table schemas by name, loaded on demand through a loader and
// kept for a short TTL, so a column added in MySQL becomes usable without a
// restart. Thread-safe; the loader may be called concurrently.
#ifndef SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_
#define SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/table_schema.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class SchemaCache {
 public:
  using Loader =
      std::function<absl::StatusOr<v1::TableSchema>(const std::string& table)>;

  // `clock` must outlive the cache.
  SchemaCache(Loader loader, const Clock& clock, absl::Duration ttl);

  // Returns the table's schema, loading it when absent or older than the TTL.
  // Errors of the loader (NOT_FOUND for an unknown table) are not cached.
  absl::StatusOr<std::shared_ptr<const v1::TableSchema>> Get(
      const std::string& table);

  // Drops the cached schema (e.g. a change named a column it lacks).
  void Invalidate(const std::string& table);

 private:
  struct Entry {
    std::shared_ptr<const v1::TableSchema> schema;
    int64_t loaded_at_us;
  };

  const Loader loader_;
  const Clock& clock_;
  const int64_t ttl_us_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// Returns a loader that asks the writer (the only process that reads
// information_schema) with the given per-call timeout. `writer` must outlive
// the loader.
SchemaCache::Loader DescribeTableLoader(v1::Writer::StubInterface& writer,
                                        absl::Duration timeout);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_
