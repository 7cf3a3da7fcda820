// Resolver: the single conflict-resolution authority. For a batch of
// validated changes it reads the stored state through the writer, merges by
// the contract's rule (services/common/merge.h), and has the writer commit
// the plan; when a concurrent commit moved the rows first, the writer answers
// with the fresh state and the resolver plans again (optimistic concurrency,
// settled inside MySQL by the writer's locking transaction). The resolver
// keeps no state between calls. Thread-safe.
#ifndef SHEETSYNC_SERVICES_RESOLVER_RESOLVER_H_
#define SHEETSYNC_SERVICES_RESOLVER_RESOLVER_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/completion_loop.h"
#include "services/common/metrics.h"
#include "services/common/schema_cache.h"
#include "services/resolver/read_policy.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

struct ResolverOptions {
  absl::Duration writer_timeout = absl::Seconds(10);  // per writer call
  int max_attempts = 16;  // plans tried before giving up (ABORTED)
  // Whether the stored state is read before the first plan (read_policy.h).
  ReadPolicy::Mode read_first = ReadPolicy::Mode::kAuto;
};

class Resolver {
 public:
  // `writer`, `schemas`, `metrics` and `loop` must outlive the resolver.
  // Calls to the writer complete on `loop` (started), and so do the waits
  // before planning again.
  Resolver(v1::Writer::StubInterface& writer, SchemaCache& schemas,
           SyncMetrics& metrics, CompletionLoop& loop, ResolverOptions options);

  using Done = std::function<void(absl::Status)>;

  // Resolves and commits the batch: fills `*response` with one result per
  // change, in order, and calls `done` with OK — or with UNAVAILABLE or
  // DEADLINE_EXCEEDED when the writer or MySQL is down, ABORTED when
  // contention outlasted max_attempts (nothing committed). Does not wait for
  // the writer: `done` may run on the loop's thread, and `request` and
  // `response` must stay valid until it has. The messages it makes live on
  // the request's arena, if it has one. `parent` (may be null) bounds the
  // writer calls' deadlines.
  void Resolve(const v1::ResolveRequest& request,
               const grpc::ServerContextBase* parent,
               v1::ResolveResponse* response, Done done);

  // The same, waiting for the answer.
  absl::StatusOr<v1::ResolveResponse> Resolve(
      const v1::ResolveRequest& request, const grpc::ServerContextBase* parent);

 private:
  class Call;

  v1::Writer::StubInterface& writer_;
  SchemaCache& schemas_;
  SyncMetrics& metrics_;
  CompletionLoop& loop_;
  const ResolverOptions options_;
  ReadPolicy read_policy_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_RESOLVER_RESOLVER_H_
