// Load generator: N threads, each on its own keep-alive connection, POST
// /v1/edits batches of unique changes (fresh rows, unique event ids) for a
// fixed time, then print one JSON line: changes/s, p50/p99 latency, errors.
// With --sample_file it writes "row_id name" of some acknowledged changes so
// that bench/run.sh can check them in MySQL; with --latency_file, each
// request's start (CLOCK_MONOTONIC seconds, as `perf record -k mono` stamps
// events), latency and trace id (the gateway's X-Trace-Id), to see when slow
// ones come (bench/tail_stalls.sh) and where their time went
// (bench/hop_tail.sh).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/stats.h"
#include "tests/support/http_client.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "gateway host");
ABSL_FLAG(int, port, 8080, "gateway port");
ABSL_FLAG(std::string, token, "", "bearer token");
ABSL_FLAG(std::string, table, "users", "table");
ABSL_FLAG(int, concurrency, 1, "client threads");
ABSL_FLAG(int, batch, 50, "changes per request");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to send");
ABSL_FLAG(std::string, run_id, "r", "prefix making row and event ids unique per run");
ABSL_FLAG(std::string, sample_file, "", "write acknowledged samples here");
ABSL_FLAG(std::string, latency_file, "",
          "write \"start latency_ms trace_id\" of each acknowledged request "
          "here, in start order (start: CLOCK_MONOTONIC seconds)");

namespace sheetsync::bench {
namespace {

std::string RowId(int run, int thread, int64_t n) {
  return absl::StrFormat("%08x-%04x-4000-8000-%012d", run, thread, n);
}

std::string Body(const std::string& run_id, int run, int thread, int64_t first,
                 int batch, std::vector<std::pair<std::string, std::string>>* sent) {
  const std::string now = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(),
                                           absl::UTCTimeZone());
  std::string changes;
  for (int i = 0; i < batch; ++i) {
    const int64_t n = first + i;
    const std::string row = RowId(run, thread, n);
    const std::string name = absl::StrCat(run_id, "-", thread, "-", n);
    sent->emplace_back(row, name);
    absl::StrAppend(&changes, i ? "," : "", "{\"event_id\":\"", name, "\",\"row_id\":\"", row,
                    "\",\"updated_at\":\"", now, "\",\"cells\":{\"name\":\"", name,
                    "\",\"email\":\"", name, "@bench.example\",\"score\":", n % 1000, "}}");
  }
  return absl::StrCat("{\"spreadsheet_id\":\"bench\",\"table\":\"",
                      absl::GetFlag(FLAGS_table), "\",\"changes\":[", changes, "]}");
}

int Main() {
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const int batch = absl::GetFlag(FLAGS_batch);
  const std::string run_id = absl::GetFlag(FLAGS_run_id);
  const int run = static_cast<int>(std::hash<std::string>()(run_id) & 0x7fffffff);
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  std::vector<Stats> stats(concurrency);
  std::vector<std::vector<std::pair<std::string, std::string>>> samples(concurrency);
  // Per thread: each acknowledged request's start, latency and trace id.
  std::vector<std::vector<std::tuple<double, double, std::string>>> timeline(
      concurrency);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      auto conn = test::HttpConnection::Connect(absl::GetFlag(FLAGS_host),
                                                absl::GetFlag(FLAGS_port));
      if (!conn.ok()) {
        ++stats[t].errors;
        return;
      }
      const test::HttpHeaders headers = {
          {"Authorization", "Bearer " + absl::GetFlag(FLAGS_token)},
          {"Content-Type", "application/json"}};
      for (int64_t n = 0; absl::Now() < end; n += batch) {
        std::vector<std::pair<std::string, std::string>> sent;
        const std::string body = Body(run_id, run, t, n, batch, &sent);
        const auto t0 = std::chrono::steady_clock::now();
        auto response = (*conn)->Request("POST", "/v1/edits", headers, body);
        const double ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - t0).count();
        if (!response.ok() || response->status != 200) {
          ++stats[t].errors;
          continue;
        }
        stats[t].latencies_ms.push_back(ms);
        timeline[t].emplace_back(
            std::chrono::duration<double>(t0.time_since_epoch()).count(), ms,
            response->Header("x-trace-id").value_or("-"));
        stats[t].changes += batch;
        if (n % (batch * 20) == 0) samples[t].push_back(sent.front());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!absl::GetFlag(FLAGS_sample_file).empty()) {
    std::ofstream out(absl::GetFlag(FLAGS_sample_file));
    for (const auto& list : samples) {
      for (const auto& [row, name] : list) out << row << " " << name << "\n";
    }
  }
  if (!absl::GetFlag(FLAGS_latency_file).empty()) {
    std::vector<std::tuple<double, double, std::string>> all;
    for (const auto& list : timeline) all.insert(all.end(), list.begin(), list.end());
    std::sort(all.begin(), all.end());
    std::ofstream out(absl::GetFlag(FLAGS_latency_file));
    for (const auto& [at, ms, trace] : all) {
      out << absl::StrFormat("%.6f %.3f %s\n", at, ms, trace);
    }
  }
  int64_t errors = 0;
  std::cout << Report(concurrency, batch, seconds, stats, &errors);
  return errors > 0 ? 1 : 0;
}

}  // namespace
}  // namespace sheetsync::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return sheetsync::bench::Main();
}
