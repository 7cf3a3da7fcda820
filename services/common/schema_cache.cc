#include "services/common/schema_cache.h"

#include <utility>

#include "services/common/grpc_util.h"

namespace sheetsync {

SchemaCache::SchemaCache(Loader loader, const Clock& clock, absl::Duration ttl)
    : loader_(std::move(loader)),
      clock_(clock),
      ttl_us_(absl::ToInt64Microseconds(ttl)) {}

absl::StatusOr<std::shared_ptr<const v1::TableSchema>> SchemaCache::Get(
    const std::string& table) {
  const int64_t now = clock_.NowMicros();
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(table);
    if (it != entries_.end() && now - it->second.loaded_at_us < ttl_us_) {
      return it->second.schema;
    }
  }
  absl::StatusOr<v1::TableSchema> loaded = loader_(table);
  if (!loaded.ok()) return loaded.status();
  auto schema = std::make_shared<const v1::TableSchema>(*std::move(loaded));
  absl::MutexLock lock(&mu_);
  entries_[table] = Entry{schema, now};
  return schema;
}

void SchemaCache::Invalidate(const std::string& table) {
  absl::MutexLock lock(&mu_);
  entries_.erase(table);
}

SchemaCache::Loader DescribeTableLoader(v1::Writer::StubInterface& writer,
                                        absl::Duration timeout) {
  return [&writer, timeout](
             const std::string& table) -> absl::StatusOr<v1::TableSchema> {
    grpc::ClientContext context;
    SetDeadline(context, timeout);
    v1::DescribeTableRequest request;
    request.set_table(table);
    v1::TableSchema schema;
    grpc::Status status = writer.DescribeTable(&context, request, &schema);
    if (!status.ok()) return FromGrpcStatus(status);
    return schema;
  };
}

}  // namespace sheetsync
