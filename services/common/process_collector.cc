#include "services/common/process_collector.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace sheetsync {
namespace {

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type, double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

int OpenFds() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (readdir(dir) != nullptr) ++count;
    closedir(dir);
  }
  return count > 2 ? count - 3 : 0;  // ".", ".." and the one opendir holds
}

double BootTimeSeconds() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
    stat.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  // Without /proc (a chroot, a sandbox) there is nothing to report.
  std::ifstream file("/proc/self/stat");
  std::string line;
  if (!std::getline(file, line)) return {};
  // Fields after the command name, which is in parentheses and may hold spaces.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 > line.size()) return {};
  std::istringstream fields(line.substr(paren + 2));
  std::vector<double> f;
  for (std::string field; fields >> field;) {
    f.push_back(std::strtod(field.c_str(), nullptr));  // never throws
  }
  if (f.size() < 22) return {};
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
  const double cpu = (f[11] + f[12]) / ticks;
  const double start = BootTimeSeconds() + f[19] / ticks;
  return {
      Family("process_cpu_seconds_total", "User and system CPU time spent.",
             prometheus::MetricType::Counter, cpu),
      Family("process_resident_memory_bytes", "Resident memory size.",
             prometheus::MetricType::Gauge, f[21] * page),
      Family("process_virtual_memory_bytes", "Virtual memory size.",
             prometheus::MetricType::Gauge, f[20]),
      Family("process_open_fds", "Open file descriptors.",
             prometheus::MetricType::Gauge, OpenFds()),
      Family("process_start_time_seconds", "Start time since the Unix epoch.",
             prometheus::MetricType::Gauge, start),
  };
}

}  // namespace sheetsync
