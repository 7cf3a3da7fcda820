// SchemaCache: table schemas by name, loaded on demand through a loader and
// kept for a short TTL, so a column added in MySQL becomes usable without a
// restart. Thread-safe; the loader may be called concurrently (for different
// tables; one load per table runs at a time through the asynchronous API).
//
// Two ways to ask. The blocking Get(table) loads a missing or expired schema
// before it returns (the writer, on its own threads). The asynchronous
// Get(table, done) never waits: it answers a cached schema at once, even one
// past its TTL, which it then reloads in the background for the calls after
// (stale while revalidating); only a table never loaded yet (or dropped
// after an error) waits for a load, shared by every call asking meanwhile.
// That is what a CompletionLoop's handlers need (ingest, the resolver): a
// refresh never holds up the loop's other calls.
#ifndef SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_
#define SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/clock.h"
#include "services/common/completion_loop.h"
#include "services/common/table_schema.h"
#include "sheetsync/v1/sync.grpc.pb.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class SchemaCache {
 public:
  using Schema = std::shared_ptr<const v1::TableSchema>;
  using Callback = std::function<void(absl::StatusOr<Schema>)>;
  // Loads one table's schema and returns it.
  using Loader = std::function<absl::StatusOr<v1::TableSchema>(const std::string& table)>;
  // Starts loading one table's schema; calls `done` once, on any thread.
  using AsyncLoader = std::function<void(
      const std::string& table, std::function<void(absl::StatusOr<v1::TableSchema>)> done)>;

  // `clock` must outlive the cache.
  SchemaCache(Loader loader, const Clock& clock, absl::Duration ttl);
  SchemaCache(AsyncLoader loader, const Clock& clock, absl::Duration ttl);

  // Returns the table's schema, loading it when absent or older than the TTL.
  // Errors of the loader (NOT_FOUND for an unknown table) are not cached.
  // Blocks: never call it on the thread an asynchronous loader answers on.
  absl::StatusOr<Schema> Get(const std::string& table);

  // Calls `done` with the table's schema: at once, here, when one is cached
  // (if it is past the TTL, a reload starts for the calls after); otherwise
  // once it is loaded, on the loader's thread, or with the loader's error.
  // A reload that fails keeps the cached schema, unless the table is gone
  // (NOT_FOUND): then the entry is dropped.
  void Get(const std::string& table, Callback done);

  // Calls `done` with a schema loaded after this call (or the error of that
  // load), e.g. when a change named a column the cached one lacks.
  void Reload(const std::string& table, Callback done);

  // Drops the cached schema (e.g. a change named a column it lacks).
  void Invalidate(const std::string& table);

 private:
  struct Entry {
    Schema schema;  // null until loaded
    int64_t loaded_at_us = 0;
    bool loading = false;
    std::vector<Callback> waiting;  // for the load in flight
    std::vector<Callback> next;     // for a load after it (Reload)
  };

  void Load(const std::string& table);
  void Loaded(const std::string& table, absl::StatusOr<v1::TableSchema> loaded);

  const AsyncLoader loader_;
  Loader blocking_loader_;  // when made with one: the blocking Get calls it
  const Clock& clock_;
  const int64_t ttl_us_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// Returns a loader that asks the writer (the only process that reads
// information_schema) with the given per-call timeout, through `loop` (whose
// thread then answers). `writer` and `loop` must outlive the loader.
SchemaCache::AsyncLoader DescribeTableLoader(v1::Writer::StubInterface& writer,
                                             CompletionLoop& loop, absl::Duration timeout);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_SCHEMA_CACHE_H_
