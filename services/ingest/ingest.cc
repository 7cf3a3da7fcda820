#include "services/ingest/ingest.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "services/common/reject.h"
#include "services/common/status_macros.h"
#include "services/ingest/validate.h"

namespace sheetsync {

Ingest::Ingest(v1::Resolver::StubInterface& resolver, SchemaCache& schemas,
               const Clock& clock, SyncMetrics& metrics, IngestOptions options)
    : resolver_(resolver),
      schemas_(schemas),
      clock_(clock),
      metrics_(metrics),
      options_(options) {}

absl::StatusOr<v1::SubmitResponse> Ingest::Submit(
    const v1::SubmitRequest& request, const grpc::ServerContextBase* parent) {
  ASSIGN_OR_RETURN(std::shared_ptr<const v1::TableSchema> schema,
                   schemas_.Get(request.table()));
  if (request.changes_size() > options_.max_changes) {
    return absl::OutOfRangeError(absl::StrCat(
        "a request may carry at most ", options_.max_changes,
        " changes; this one has ", request.changes_size(), ": split it"));
  }
  // A cell naming a column the cached schema lacks may be a column added
  // since: look again once before rejecting it.
  for (const auto& raw : request.changes()) {
    if (NamesUnknownColumn(raw, *schema)) {
      schemas_.Invalidate(request.table());
      ASSIGN_OR_RETURN(schema, schemas_.Get(request.table()));
      break;
    }
  }

  ValidationLimits limits;
  limits.now_us = clock_.NowMicros();
  limits.max_future_skew_us = absl::ToInt64Microseconds(options_.max_future_skew);
  v1::SubmitResponse response;
  v1::ResolveRequest resolve;
  resolve.set_table(request.table());
  std::vector<int> forwarded;  // index in `request` of each resolve change
  absl::flat_hash_map<std::string, double> rejected_by_reason;
  for (int i = 0; i < request.changes_size(); ++i) {
    const auto& raw = request.changes(i);
    v1::ChangeResult& result = *response.add_results();
    absl::StatusOr<v1::Change> change = ValidateChange(raw, *schema, limits);
    if (!change.ok()) {
      result.set_event_id(RawString(raw, "event_id"));
      result.set_row_id(RawString(raw, "row_id"));
      result.set_status("rejected");
      result.set_code(RejectCode(change.status()));
      result.set_error(std::string(change.status().message()));
      rejected_by_reason[result.code()] += 1;
      continue;
    }
    change->set_source(v1::SHEET);
    change->set_origin(request.spreadsheet_id());
    *resolve.add_changes() = *std::move(change);
    forwarded.push_back(i);
  }

  if (!forwarded.empty()) {
    grpc::ClientContext context;
    SetDeadline(context, options_.resolver_timeout, parent);
    v1::ResolveResponse resolved;
    RETURN_IF_ERROR(
        FromGrpcStatus(resolver_.Resolve(&context, resolve, &resolved)));
    if (resolved.results_size() != static_cast<int>(forwarded.size())) {
      return absl::InternalError("the resolver answered a different batch");
    }
    for (size_t j = 0; j < forwarded.size(); ++j) {
      *response.mutable_results(forwarded[j]) =
          std::move(*resolved.mutable_results(static_cast<int>(j)));
    }
  }
  // Count only what was committed (a retried request counts again, as
  // duplicates).
  metrics_.AddReceived(request.table(), v1::SHEET,
                       static_cast<double>(forwarded.size()));
  for (const auto& [reason, n] : rejected_by_reason) {
    metrics_.AddRejected(request.table(), reason, n);
  }
  return response;
}

}  // namespace sheetsync
