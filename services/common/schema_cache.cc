#include "services/common/schema_cache.h"

#include <utility>

#include "absl/synchronization/notification.h"
#include "services/common/grpc_util.h"

namespace sheetsync {

SchemaCache::SchemaCache(Loader loader, const Clock& clock, absl::Duration ttl)
    : SchemaCache(
          AsyncLoader([loader](const std::string& table,
                               std::function<void(absl::StatusOr<v1::TableSchema>)> done) {
            done(loader(table));
          }),
          clock, ttl) {
  blocking_loader_ = std::move(loader);
}

SchemaCache::SchemaCache(AsyncLoader loader, const Clock& clock, absl::Duration ttl)
    : loader_(std::move(loader)), clock_(clock), ttl_us_(absl::ToInt64Microseconds(ttl)) {}

absl::StatusOr<SchemaCache::Schema> SchemaCache::Get(const std::string& table) {
  const int64_t now = clock_.NowMicros();
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(table);
    if (it != entries_.end() && it->second.schema != nullptr &&
        now - it->second.loaded_at_us < ttl_us_) {
      return it->second.schema;
    }
  }
  if (blocking_loader_ == nullptr) {
    absl::StatusOr<Schema> answer;
    absl::Notification answered;
    Reload(table, [&](absl::StatusOr<Schema> schema) {
      answer = std::move(schema);
      answered.Notify();
    });
    answered.WaitForNotification();
    return answer;
  }
  // Each caller loads for itself, as no thread waits on another's load.
  absl::StatusOr<v1::TableSchema> loaded = blocking_loader_(table);
  if (!loaded.ok()) return loaded.status();
  auto schema = std::make_shared<const v1::TableSchema>(*std::move(loaded));
  absl::MutexLock lock(&mu_);
  Entry& entry = entries_[table];
  entry.schema = schema;
  entry.loaded_at_us = now;
  return schema;
}

void SchemaCache::Get(const std::string& table, Callback done) {
  const int64_t now = clock_.NowMicros();
  Schema cached;
  bool load = false;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[table];
    if (entry.schema == nullptr) {
      entry.waiting.push_back(std::move(done));
    } else {
      cached = entry.schema;
    }
    if (!entry.loading && (cached == nullptr || now - entry.loaded_at_us >= ttl_us_)) {
      entry.loading = load = true;
    }
  }
  // Load first: `done` may finish the call that owns `table`.
  if (load) Load(table);
  if (cached != nullptr) done(std::move(cached));
}

void SchemaCache::Reload(const std::string& table, Callback done) {
  bool load = false;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[table];
    if (entry.loading) {  // it may have read the schema before this call
      entry.next.push_back(std::move(done));
    } else {
      entry.waiting.push_back(std::move(done));
      entry.loading = load = true;
    }
  }
  if (load) Load(table);
}

void SchemaCache::Invalidate(const std::string& table) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(table);
  if (it == entries_.end()) return;
  if (it->second.loading) {
    it->second.schema = nullptr;  // the load in flight puts one back
  } else {
    entries_.erase(it);
  }
}

void SchemaCache::Load(const std::string& table) {
  loader_(table, [this, table](absl::StatusOr<v1::TableSchema> loaded) {
    Loaded(table, std::move(loaded));
  });
}

void SchemaCache::Loaded(const std::string& table, absl::StatusOr<v1::TableSchema> loaded) {
  const int64_t now = clock_.NowMicros();
  absl::StatusOr<Schema> answer;
  std::vector<Callback> waiting;
  bool again = false;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[table];
    if (loaded.ok()) {
      entry.schema = std::make_shared<const v1::TableSchema>(*std::move(loaded));
      entry.loaded_at_us = now;
      answer = entry.schema;
    } else {
      answer = loaded.status();
      if (absl::IsNotFound(loaded.status())) entry.schema = nullptr;  // the table is gone
    }
    waiting.swap(entry.waiting);
    if (entry.next.empty()) {
      entry.loading = false;
      if (entry.schema == nullptr) entries_.erase(table);  // errors are not cached
    } else {
      entry.waiting.swap(entry.next);
      again = true;
    }
  }
  for (Callback& done : waiting) done(answer);
  if (again) Load(table);
}

SchemaCache::AsyncLoader DescribeTableLoader(v1::Writer::StubInterface& writer,
                                             CompletionLoop& loop, absl::Duration timeout) {
  return [&writer, &loop, timeout](const std::string& table,
                                   std::function<void(absl::StatusOr<v1::TableSchema>)> done) {
    struct Pending {
      grpc::ClientContext context;
      v1::DescribeTableRequest request;
      v1::TableSchema schema;
    };
    auto* pending = new Pending;
    SetDeadline(pending->context, timeout);
    pending->request.set_table(table);
    loop.Call(writer, &v1::Writer::StubInterface::PrepareAsyncDescribeTable,
              "/sheetsync.v1.Writer/DescribeTable", &pending->context,
              pending->request, &pending->schema,
              [pending, done = std::move(done)](grpc::Status status) {
                std::unique_ptr<Pending> owned(pending);
                if (!status.ok()) return done(FromGrpcStatus(status));
                done(std::move(owned->schema));
              });
  };
}

}  // namespace sheetsync
