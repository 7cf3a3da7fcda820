// Latency samples and the figures the benchmark prints. Not thread-safe:
// one Stats per thread, merged at the end.
#ifndef SHEETSYNC_BENCH_STATS_H_
#define SHEETSYNC_BENCH_STATS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sheetsync::bench {

struct Stats {
  std::vector<double> latencies_ms;  // one per request (or transaction)
  int64_t changes = 0;
  int64_t errors = 0;

  void Merge(const Stats& other) {
    latencies_ms.insert(latencies_ms.end(), other.latencies_ms.begin(),
                        other.latencies_ms.end());
    changes += other.changes;
    errors += other.errors;
  }

  // Returns the q-quantile (0..1) of the latencies, in ms.
  double Quantile(double q) {
    if (latencies_ms.empty()) return 0;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    const size_t i = std::min(latencies_ms.size() - 1,
                              static_cast<size_t>(q * latencies_ms.size()));
    return latencies_ms[i];
  }
};

}  // namespace sheetsync::bench

#endif  // SHEETSYNC_BENCH_STATS_H_
