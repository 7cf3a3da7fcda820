// The contract's metrics (section 4) on a prometheus-cpp registry, and the
// exposer that serves a registry on its own /metrics port. Each process
// increments the counters of what it decides; Prometheus sums them.
// Thread-safe (prometheus-cpp families and counters are).
#ifndef SHEETSYNC_SERVICES_COMMON_METRICS_H_
#define SHEETSYNC_SERVICES_COMMON_METRICS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "sheetsync/v1/sync.pb.h"

namespace sheetsync {

class SyncMetrics {
 public:
  // Registers the families on `registry`, which must outlive this object.
  explicit SyncMetrics(prometheus::Registry& registry);

  void AddReceived(const std::string& table, v1::Source source, double n);
  void AddApplied(const std::string& table, double n);
  void AddStaleDropped(const std::string& table, double n);
  void AddConflicts(const std::string& table, double n);
  void AddDuplicates(const std::string& table, double n);
  void AddRejected(const std::string& table, const std::string& reason,
                   double n);
  // Observes one request's time from gateway receipt to MySQL commit.
  void ObserveApplySeconds(double seconds);
  // Observes the time from a direct MySQL write to its merge's commit.
  void ObserveCaptureLag(double seconds);

 private:
  prometheus::Family<prometheus::Counter>& received_;
  prometheus::Family<prometheus::Counter>& applied_;
  prometheus::Family<prometheus::Counter>& stale_dropped_;
  prometheus::Family<prometheus::Counter>& conflicts_;
  prometheus::Family<prometheus::Counter>& duplicates_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Histogram& apply_seconds_;
  prometheus::Histogram& capture_lag_;
};

// Returns "SHEET" or "MYSQL".
const char* SourceName(v1::Source source);

// A process's /metrics port: its registry plus the process_* metrics. The
// exposer only holds weak references, so this keeps the collectors alive.
class MetricsEndpoint {
 public:
  MetricsEndpoint(std::shared_ptr<prometheus::Collectable> process,
                  std::unique_ptr<prometheus::Exposer> exposer)
      : process_(std::move(process)), exposer_(std::move(exposer)) {}

 private:
  std::shared_ptr<prometheus::Collectable> process_;  // outlives exposer_
  std::unique_ptr<prometheus::Exposer> exposer_;
};

// Starts serving `registry` (which the caller keeps alive) and the process_*
// metrics at http://`listen`/metrics.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetricsExposer(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry);

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_METRICS_H_
