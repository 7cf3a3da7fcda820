#include "services/common/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "services/common/process_collector.h"

namespace sheetsync {
namespace {

prometheus::Family<prometheus::Counter>& Counter(prometheus::Registry& registry,
                                                 const std::string& name,
                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

}  // namespace

SyncMetrics::SyncMetrics(prometheus::Registry& registry)
    : received_(Counter(registry, "sheetsync_changes_received_total",
                        "Changes that passed validation (duplicates included).")),
      applied_(Counter(registry, "sheetsync_changes_applied_total",
                       "Changes that won at least one cell or erased a row.")),
      stale_dropped_(Counter(registry, "sheetsync_stale_dropped_total",
                             "Cell writes dropped because a newer version was "
                             "stored (a losing delete counts 1).")),
      conflicts_(Counter(registry, "sheetsync_conflicts_total",
                         "Cell writes that met a stored version from the other "
                         "source and lost to it or carried a stale base.")),
      duplicates_(Counter(registry, "sheetsync_duplicates_total",
                          "Changes skipped as replays of an accepted event_id.")),
      rejected_(Counter(registry, "sheetsync_rejected_total",
                        "Invalid changes refused, by reason.")),
      apply_seconds_(
          prometheus::BuildHistogram()
              .Name("sheetsync_apply_seconds")
              .Help("Per request: gateway received to MySQL committed.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                           0.1, 0.25, 0.5, 1, 2.5, 5, 10})),
      capture_lag_(
          prometheus::BuildHistogram()
              .Name("sheetsync_capture_lag_seconds")
              .Help("Direct MySQL write to the commit of its merge.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{
                           0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60})) {}

const char* SourceName(v1::Source source) {
  return source == v1::MYSQL ? "MYSQL" : "SHEET";
}

void SyncMetrics::AddReceived(const std::string& table, v1::Source source,
                              double n) {
  received_.Add({{"source", SourceName(source)}, {"table", table}}).Increment(n);
}
void SyncMetrics::AddApplied(const std::string& table, double n) {
  applied_.Add({{"table", table}}).Increment(n);
}
void SyncMetrics::AddStaleDropped(const std::string& table, double n) {
  stale_dropped_.Add({{"table", table}}).Increment(n);
}
void SyncMetrics::AddConflicts(const std::string& table, double n) {
  conflicts_.Add({{"table", table}}).Increment(n);
}
void SyncMetrics::AddDuplicates(const std::string& table, double n) {
  duplicates_.Add({{"table", table}}).Increment(n);
}
void SyncMetrics::AddRejected(const std::string& table,
                              const std::string& reason, double n) {
  rejected_.Add({{"table", table}, {"reason", reason}}).Increment(n);
}
void SyncMetrics::ObserveApplySeconds(double seconds) {
  apply_seconds_.Observe(seconds);
}

void SyncMetrics::ObserveCaptureLag(double seconds) {
  capture_lag_.Observe(seconds);
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetricsExposer(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry) {
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(listen);
    auto process = std::make_shared<ProcessCollector>();
    exposer->RegisterCollectable(registry);
    exposer->RegisterCollectable(process);
    return std::make_unique<MetricsEndpoint>(std::move(process), std::move(exposer));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", listen, ": ", e.what()));
  }
}

}  // namespace sheetsync
