// Ingest: the stateless front of the pipeline. Validates and normalises each
// change of a batch (services/ingest/validate.h), answers invalid ones as
// `rejected` on their own, and forwards the valid ones to the resolver.
// Thread-safe.
#ifndef SHEETSYNC_SERVICES_INGEST_INGEST_H_
#define SHEETSYNC_SERVICES_INGEST_INGEST_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "services/common/clock.h"
#include "services/common/completion_loop.h"
#include "services/common/metrics.h"
#include "services/common/schema_cache.h"
#include "sheetsync/v1/sync.grpc.pb.h"

namespace sheetsync {

struct IngestOptions {
  int max_changes = 1000;  // contract: more answers 413
  absl::Duration max_future_skew = absl::Seconds(300);
  absl::Duration resolver_timeout = absl::Seconds(20);
};

class Ingest {
 public:
  // Every reference must outlive the Ingest. Calls to the resolver complete
  // on `loop`.
  Ingest(v1::Resolver::StubInterface& resolver, SchemaCache& schemas,
         const Clock& clock, SyncMetrics& metrics, CompletionLoop& loop,
         IngestOptions options);

  using Done = std::function<void(absl::Status)>;

  // Fills `*response` with one result per change, in order, and calls `done`
  // with OK — or with NOT_FOUND: the table is not registered; OUT_OF_RANGE:
  // more than max_changes; UNAVAILABLE (or another status of the resolver):
  // nothing was acknowledged. Does not wait for the resolver: `done` may run
  // on the loop's thread, and `request` and `response` must stay valid until
  // it has. The messages it makes live on the request's arena, if it has one.
  // `parent` (may be null) bounds the resolver call's deadline.
  void Submit(const v1::SubmitRequest& request,
              const grpc::ServerContextBase* parent,
              v1::SubmitResponse* response, Done done);

 private:
  struct Call;

  // Validates the changes against `schema` and sends the valid ones to the
  // resolver; `done` as Submit's.
  void Forward(const v1::SubmitRequest& request, const v1::TableSchema& schema,
               const grpc::ServerContextBase* parent, v1::SubmitResponse* response,
               Done done);
  // Validates every change: answers the rejected ones in `response` and
  // puts the others in `call.resolve`.
  void Validate(const v1::SubmitRequest& request, const v1::TableSchema& schema,
                v1::SubmitResponse& response, Call& call);
  // Answers the forwarded changes with the resolver's results and counts
  // the request.
  absl::Status Finish(const v1::SubmitRequest& request,
                      v1::SubmitResponse& response, Call& call);

  v1::Resolver::StubInterface& resolver_;
  SchemaCache& schemas_;
  const Clock& clock_;
  SyncMetrics& metrics_;
  CompletionLoop& loop_;
  const IngestOptions options_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_INGEST_INGEST_H_
