#include "services/resolver/capture_poller.h"

#include <algorithm>

#include "services/common/grpc_util.h"
#include "services/common/process.h"
#include "services/common/status_macros.h"

namespace sheetsync {

CapturePoller::CapturePoller(v1::Writer::StubInterface& writer,
                             Resolver& resolver, SyncMetrics& metrics,
                             const Clock& clock, CapturePollerOptions options)
    : writer_(writer),
      resolver_(resolver),
      metrics_(metrics),
      clock_(clock),
      options_(options) {}

CapturePoller::~CapturePoller() { Stop(); }

void CapturePoller::Start() {
  thread_ = std::thread([this] {
    absl::Duration wait = absl::ZeroDuration();
    while (!stop_.WaitForNotificationWithTimeout(wait)) {
      absl::StatusOr<Polled> polled = PollOnce();
      const absl::Status status =
          polled.ok() ? polled->failed : polled.status();
      if (!status.ok() && !absl::IsUnavailable(status)) {
        LogWarning("capture poll failed", {{"status", status.ToString()}});
      }
      wait = polled.ok() && polled->backlog ? absl::ZeroDuration()
                                            : options_.interval;
    }
  });
}

void CapturePoller::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<CapturePoller::Polled> CapturePoller::PollOnce() {
  v1::ListTablesResponse tables;
  {
    grpc::ClientContext context;
    SetDeadline(context, options_.timeout);
    RETURN_IF_ERROR(FromGrpcStatus(
        writer_.ListTables(&context, v1::ListTablesRequest(), &tables)));
  }
  Polled polled;
  for (const std::string& table : tables.tables()) {
    absl::Status status = PollTable(table, polled);
    if (!status.ok() && !absl::IsNotFound(status)) {
      // NOT_FOUND: unregistered meanwhile, or missing (the writer reports it).
      polled.failed.Update(status);
    }
  }
  return polled;
}

absl::Status CapturePoller::PollTable(const std::string& table,
                                      Polled& polled) {
  v1::ClaimCaptureRequest claim;
  claim.set_table(table);
  claim.set_limit(options_.batch);
  claim.set_lease_us(absl::ToInt64Microseconds(options_.lease));
  v1::ClaimCaptureResponse claimed;
  {
    grpc::ClientContext context;
    SetDeadline(context, options_.timeout);
    RETURN_IF_ERROR(FromGrpcStatus(writer_.ClaimCapture(&context, claim, &claimed)));
  }
  for (const auto& [reason, n] : claimed.skipped_by_reason()) {
    metrics_.AddRejected(table, reason, n);
  }
  if (claimed.skipped() > 0 && claimed.skipped_by_reason().empty()) {
    metrics_.AddRejected(table, "invalid_row_id",
                         claimed.skipped());  // an older writer
  }
  if (claimed.changes_size() + claimed.skipped() >= options_.batch) {
    polled.backlog = true;  // a full batch: more may be waiting
  }
  if (claimed.changes().empty()) return absl::OkStatus();
  v1::ResolveRequest request;
  request.set_table(table);
  for (v1::CapturedChange& captured : *claimed.mutable_changes()) {
    request.add_consumed_capture_ids(captured.capture_id());
    *request.add_changes() = std::move(*captured.mutable_change());
  }
  ASSIGN_OR_RETURN(v1::ResolveResponse resolved,
                   resolver_.Resolve(request, /*parent=*/nullptr));
  metrics_.AddReceived(table, v1::MYSQL, request.changes_size());
  const int64_t now = clock_.NowMicros();
  for (int i = 0; i < request.changes_size(); ++i) {
    // A duplicate was merged before, by a sheet edit that met it pending
    // while this poller's lease held it; that merge observed its lag.
    if (i < resolved.results_size() &&
        resolved.results(i).status() == "duplicate") {
      continue;
    }
    // MySQL's clock stamped the change: a resolver on another host whose
    // clock is behind would see a negative lag.
    metrics_.ObserveCaptureLag(
        std::max<int64_t>(0, now - request.changes(i).updated_at_us()) / 1e6);
  }
  polled.merged += request.changes_size();
  return absl::OkStatus();
}

}  // namespace sheetsync
