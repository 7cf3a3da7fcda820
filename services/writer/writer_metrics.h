// The writer's own metrics: the MySQL pool's connections and wait time,
// transaction retries by reason and committed batch sizes. Thread-safe.
#ifndef SHEETSYNC_SERVICES_WRITER_WRITER_METRICS_H_
#define SHEETSYNC_SERVICES_WRITER_WRITER_METRICS_H_

#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace sheetsync {

class WriterMetrics {
 public:
  // Registers the families on `registry`, which must outlive this object.
  explicit WriterMetrics(prometheus::Registry& registry);

  void SetPoolConnections(double in_use, double idle);
  void ObservePoolWait(double seconds);
  // `reason`: "deadlock", "lock_wait", "rev_conflict" or "pending_capture".
  void AddTxnRetry(const char* reason);
  void ObserveBatchRows(double rows);
  void ObserveCommitGroup(double plans);
  // How long the oldest captured MySQL edit of `table` has waited to be
  // merged (0: none waits).
  void SetCaptureBacklogAge(const std::string& table, double seconds);
  // Deletes of `table` no capture trigger saw, logged by a maintenance pass.
  void AddMissedDeletes(const std::string& table, double rows);

 private:
  prometheus::Family<prometheus::Gauge>& pool_connections_;
  prometheus::Histogram& pool_wait_;
  prometheus::Family<prometheus::Counter>& txn_retries_;
  prometheus::Histogram& batch_rows_;
  prometheus::Histogram& commit_group_;
  prometheus::Family<prometheus::Gauge>& capture_backlog_age_;
  prometheus::Family<prometheus::Counter>& missed_deletes_;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_WRITER_WRITER_METRICS_H_
