#include "services/writer/writer_metrics.h"

namespace sheetsync {

WriterMetrics::WriterMetrics(prometheus::Registry& registry)
    : pool_connections_(prometheus::BuildGauge()
                            .Name("sheetsync_mysql_pool_connections")
                            .Help("MySQL connections of the pool, by state.")
                            .Register(registry)),
      pool_wait_(prometheus::BuildHistogram()
                     .Name("sheetsync_mysql_pool_wait_seconds")
                     .Help("Time to borrow a connection from the pool.")
                     .Register(registry)
                     .Add({},
                          prometheus::Histogram::BucketBoundaries{
                              0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1,
                              0.5, 1, 5})),
      txn_retries_(prometheus::BuildCounter()
                       .Name("sheetsync_writer_txn_retries_total")
                       .Help("Transactions run again, by reason.")
                       .Register(registry)),
      batch_rows_(prometheus::BuildHistogram()
                      .Name("sheetsync_writer_batch_rows")
                      .Help("Rows written by one committed transaction.")
                      .Register(registry)
                      .Add({},
                           prometheus::Histogram::BucketBoundaries{
                               1, 2, 5, 10, 25, 50, 100, 250, 500, 1000})),
      commit_group_(
          prometheus::BuildHistogram()
              .Name("sheetsync_writer_commit_group_plans")
              .Help(
                  "Apply calls committed together by one grouped transaction.")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{2, 3, 4, 6, 8, 12,
                                                           16, 24, 32})),
      capture_backlog_age_(
          prometheus::BuildGauge()
              .Name("sheetsync_capture_oldest_pending_seconds")
              .Help("Age of the oldest captured MySQL edit not merged yet "
                    "(0: none), measured at each maintenance pass.")
              .Register(registry)),
      missed_deletes_(
          prometheus::BuildCounter()
              .Name("sheetsync_capture_missed_deletes_total")
              .Help("Deletes no capture trigger saw (a foreign key's "
                    "cascade, a DELETE while the triggers were missing), "
                    "found by comparing the table with its sync state.")
              .Register(registry)) {}

void WriterMetrics::SetPoolConnections(double in_use, double idle) {
  pool_connections_.Add({{"state", "in_use"}}).Set(in_use);
  pool_connections_.Add({{"state", "idle"}}).Set(idle);
}

void WriterMetrics::ObservePoolWait(double seconds) { pool_wait_.Observe(seconds); }

void WriterMetrics::AddTxnRetry(const char* reason) {
  txn_retries_.Add({{"reason", reason}}).Increment();
}

void WriterMetrics::ObserveBatchRows(double rows) { batch_rows_.Observe(rows); }

void WriterMetrics::ObserveCommitGroup(double plans) { commit_group_.Observe(plans); }

void WriterMetrics::SetCaptureBacklogAge(const std::string& table,
                                         double seconds) {
  capture_backlog_age_.Add({{"table", table}}).Set(seconds);
}

void WriterMetrics::AddMissedDeletes(const std::string& table, double rows) {
  missed_deletes_.Add({{"table", table}}).Increment(rows);
}

}  // namespace sheetsync
