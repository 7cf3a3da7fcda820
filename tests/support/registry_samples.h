// Reading a prometheus-cpp Registry in tests: the samples of one family by
// their labels.
//
//   EXPECT_EQ(Samples(registry, "sheetsync_rejected_total")
//                 ["reason=invalid_row_id,table=users"], 2);
#ifndef SHEETSYNC_TESTS_SUPPORT_REGISTRY_SAMPLES_H_
#define SHEETSYNC_TESTS_SUPPORT_REGISTRY_SAMPLES_H_

#include <map>
#include <string>

#include "prometheus/registry.h"

namespace sheetsync::test {

// "name=value,..." of a sample's labels, in prometheus-cpp's (sorted) order;
// "" for a sample without labels.
inline std::string LabelKey(const prometheus::ClientMetric& metric) {
  std::string key;
  for (const prometheus::ClientMetric::Label& label : metric.label) {
    key += (key.empty() ? "" : ",") + label.name + "=" + label.value;
  }
  return key;
}

// Each sample of family `name` by LabelKey: a counter's or a gauge's value,
// a histogram's count of observations.
inline std::map<std::string, double> Samples(prometheus::Registry& registry,
                                             const std::string& name) {
  std::map<std::string, double> samples;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      switch (family.type) {
        case prometheus::MetricType::Histogram:
          samples[LabelKey(metric)] = static_cast<double>(metric.histogram.sample_count);
          break;
        case prometheus::MetricType::Gauge:
          samples[LabelKey(metric)] = metric.gauge.value;
          break;
        default:
          samples[LabelKey(metric)] = metric.counter.value;
      }
    }
  }
  return samples;
}

// The sum of the observations of each sample of histogram family `name`.
inline std::map<std::string, double> HistogramSums(prometheus::Registry& registry,
                                                   const std::string& name) {
  std::map<std::string, double> sums;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      sums[LabelKey(metric)] = metric.histogram.sample_sum;
    }
  }
  return sums;
}

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_REGISTRY_SAMPLES_H_
