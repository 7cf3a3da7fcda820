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

// Each sample of family `name` by LabelKey, as `value(family, sample)`.
template <typename Value>
std::map<std::string, double> SamplesBy(prometheus::Registry& registry,
                                        const std::string& name, Value value) {
  std::map<std::string, double> samples;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      samples[LabelKey(metric)] = value(family, metric);
    }
  }
  return samples;
}

// Each sample of family `name` by LabelKey: a counter's or a gauge's value,
// a histogram's count of observations.
inline std::map<std::string, double> Samples(prometheus::Registry& registry,
                                             const std::string& name) {
  return SamplesBy(
      registry, name,
      [](const prometheus::MetricFamily& family,
         const prometheus::ClientMetric& metric) -> double {
        switch (family.type) {
          case prometheus::MetricType::Histogram:
            return static_cast<double>(metric.histogram.sample_count);
          case prometheus::MetricType::Gauge:
            return metric.gauge.value;
          default:
            return metric.counter.value;
        }
      });
}

// The sum of the observations of each sample of histogram family `name`.
inline std::map<std::string, double> HistogramSums(prometheus::Registry& registry,
                                                   const std::string& name) {
  return SamplesBy(registry, name,
                   [](const prometheus::MetricFamily&,
                      const prometheus::ClientMetric& metric) {
                     return metric.histogram.sample_sum;
                   });
}

}  // namespace sheetsync::test

#endif  // SHEETSYNC_TESTS_SUPPORT_REGISTRY_SAMPLES_H_
