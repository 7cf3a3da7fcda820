// ProcessCollector: the standard process_* metrics (CPU time, resident and
// virtual memory, open file descriptors, start time) read from /proc at
// scrape time, since prometheus-cpp has no collector for them. Thread-safe.
#ifndef SHEETSYNC_SERVICES_COMMON_PROCESS_COLLECTOR_H_
#define SHEETSYNC_SERVICES_COMMON_PROCESS_COLLECTOR_H_

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace sheetsync {

class ProcessCollector final : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace sheetsync

#endif  // SHEETSYNC_SERVICES_COMMON_PROCESS_COLLECTOR_H_
