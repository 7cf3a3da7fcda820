// Latency samples and the figures the benchmark prints. Not thread-safe:
// one Stats per thread, merged at the end.
#ifndef SHEETSYNC_BENCH_STATS_H_
#define SHEETSYNC_BENCH_STATS_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

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

// Merges the threads' stats and returns the one JSON line both benchmark
// clients print (bench/run.sh reads it).
inline std::string Report(int concurrency, int batch, double seconds,
                          const std::vector<Stats>& per_thread, int64_t* errors) {
  Stats all;
  for (const Stats& s : per_thread) all.Merge(s);
  *errors = all.errors;
  return absl::StrFormat(
      "{\"concurrency\":%d,\"batch\":%d,\"seconds\":%.2f,\"changes\":%d,"
      "\"changes_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%d}\n",
      concurrency, batch, seconds, all.changes, all.changes / seconds,
      all.Quantile(0.5), all.Quantile(0.99), all.errors);
}

}  // namespace sheetsync::bench

#endif  // SHEETSYNC_BENCH_STATS_H_
