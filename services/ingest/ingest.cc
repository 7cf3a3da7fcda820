#include "services/ingest/ingest.h"

#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "services/common/grpc_util.h"
#include "services/common/reject.h"
#include "services/common/status_macros.h"
#include "services/ingest/validate.h"

namespace sheetsync {

Ingest::Ingest(v1::Resolver::StubInterface& resolver, SchemaCache& schemas,
               const Clock& clock, SyncMetrics& metrics, CompletionLoop& loop,
               IngestOptions options)
    : resolver_(resolver),
      schemas_(schemas),
      clock_(clock),
      metrics_(metrics),
      loop_(loop),
      options_(options) {}

// One Submit between its validation and the resolver's answer.
struct Ingest::Call {
  explicit Call(google::protobuf::Arena* request_arena)
      : arena(request_arena != nullptr ? request_arena : &own_arena),
        resolve(google::protobuf::Arena::CreateMessage<v1::ResolveRequest>(arena)),
        resolved(google::protobuf::Arena::CreateMessage<v1::ResolveResponse>(arena)) {}

  google::protobuf::Arena own_arena;  // used when the request has none
  google::protobuf::Arena* const arena;
  v1::ResolveRequest* const resolve;
  v1::ResolveResponse* const resolved;
  std::vector<int> forwarded;  // index in the request of each resolve change
  absl::flat_hash_map<std::string, double> rejected_by_reason;
  grpc::ClientContext context;
};

void Ingest::Submit(const v1::SubmitRequest& request,
                    const grpc::ServerContextBase* parent,
                    v1::SubmitResponse* response, Done done) {
  schemas_.Get(request.table(), [this, &request, parent, response, done = std::move(done)](
                                    absl::StatusOr<SchemaCache::Schema> schema) mutable {
    if (!schema.ok()) return done(schema.status());
    if (request.changes_size() > options_.max_changes) {
      return done(absl::OutOfRangeError(absl::StrCat(
          "a request may carry at most ", options_.max_changes, " changes; this one has ",
          request.changes_size(), ": split it")));
    }
    // A cell naming a column the cached schema lacks may be a column added
    // since: look again once before rejecting it.
    for (const auto& raw : request.changes()) {
      if (!NamesUnknownColumn(raw, **schema)) continue;
      return schemas_.Reload(
          request.table(), [this, &request, parent, response, done = std::move(done)](
                               absl::StatusOr<SchemaCache::Schema> reloaded) mutable {
            if (!reloaded.ok()) return done(reloaded.status());
            Forward(request, **reloaded, parent, response, std::move(done));
          });
    }
    Forward(request, **schema, parent, response, std::move(done));
  });
}

void Ingest::Forward(const v1::SubmitRequest& request, const v1::TableSchema& schema,
                     const grpc::ServerContextBase* parent, v1::SubmitResponse* response,
                     Done done) {
  // `done` may free the request's arena: each path deletes the call first.
  auto call = std::make_unique<Call>(request.GetArena());
  Validate(request, schema, *response, *call);
  if (call->forwarded.empty()) {
    absl::Status status = Finish(request, *response, *call);
    call.reset();
    return done(status);
  }
  SetDeadline(call->context, options_.resolver_timeout, parent);
  Call* pending = call.release();
  loop_.Call(resolver_, &v1::Resolver::StubInterface::PrepareAsyncResolve,
             "/sheetsync.v1.Resolver/Resolve", &pending->context,
             *pending->resolve, pending->resolved,
             [this, pending, &request, response,
              done = std::move(done)](grpc::Status answer) {
               absl::Status status = answer.ok()
                                         ? Finish(request, *response, *pending)
                                         : FromGrpcStatus(answer);
               delete pending;
               done(status);
             });
}

void Ingest::Validate(const v1::SubmitRequest& request, const v1::TableSchema& schema,
                      v1::SubmitResponse& response, Call& call) {
  ValidationLimits limits;
  limits.now_us = clock_.NowMicros();
  limits.max_future_skew_us = absl::ToInt64Microseconds(options_.max_future_skew);
  v1::ResolveRequest& resolve = *call.resolve;
  resolve.set_table(request.table());
  for (int i = 0; i < request.changes_size(); ++i) {
    const auto& raw = request.changes(i);
    v1::ChangeResult& result = *response.add_results();
    v1::Change& change = *resolve.add_changes();
    const auto unreadable =
        request.unreadable_changes().find(static_cast<uint32_t>(i));
    absl::Status valid = unreadable != request.unreadable_changes().end()
                             ? Reject("invalid_change", unreadable->second)
                             : ValidateChangeInto(raw, schema, limits, change);
    if (!valid.ok()) {
      resolve.mutable_changes()->RemoveLast();
      result.set_event_id(RawString(raw, "event_id"));
      result.set_row_id(RawString(raw, "row_id"));
      result.set_status("rejected");
      result.set_code(RejectCode(valid));
      result.set_error(std::string(valid.message()));
      call.rejected_by_reason[result.code()] += 1;
      continue;
    }
    change.set_source(v1::SHEET);
    change.set_origin(request.spreadsheet_id());
    call.forwarded.push_back(i);
  }
}

absl::Status Ingest::Finish(const v1::SubmitRequest& request,
                            v1::SubmitResponse& response, Call& call) {
  v1::ResolveResponse& resolved = *call.resolved;
  if (!call.forwarded.empty()) {
    if (resolved.results_size() != static_cast<int>(call.forwarded.size())) {
      return absl::InternalError("the resolver answered a different batch");
    }
    for (size_t j = 0; j < call.forwarded.size(); ++j) {
      response.mutable_results(call.forwarded[j])
          ->Swap(resolved.mutable_results(static_cast<int>(j)));
    }
  }
  // Count only what was committed (a retried request counts again, as
  // duplicates).
  metrics_.AddReceived(request.table(), v1::SHEET,
                       static_cast<double>(call.forwarded.size()));
  for (const auto& [reason, n] : call.rejected_by_reason) {
    metrics_.AddRejected(request.table(), reason, n);
  }
  return absl::OkStatus();
}

}  // namespace sheetsync
