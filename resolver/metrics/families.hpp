// Small builders for Prometheus metric families, shared by the collector's
// parts. Every family is built afresh at scrape time from summed counters.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <limits>
#include <string>
#include <vector>

#include "metrics/counters.hpp"

namespace diresolver::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

inline MetricFamily family(const char* name, const char* help, MetricType type) { return {name, help, type, {}}; }

inline void add(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

inline Labels with(Labels labels, const char* name, std::string value) {
  labels.push_back({name, std::move(value)});
  return labels;
}

// A family holding one unlabelled value.
inline MetricFamily single(const char* name, const char* help, MetricType type, double value) {
  auto f = family(name, help, type);
  add(f, {}, value);
  return f;
}

// Sums one histogram over several owners (workers): `pick` returns an
// owner's DurationHistogram. Bounds are in microseconds, exported in seconds.
template <size_t N, class Owner, class Pick>
ClientMetric::Histogram summed_histogram(const std::array<uint32_t, N>& bounds_us,
                                         const std::vector<const Owner*>& owners, Pick pick) {
  ClientMetric::Histogram h;
  uint64_t cumulative = 0, sum_us = 0;
  for (size_t b = 0; b <= N; ++b) {
    for (const auto* owner : owners) cumulative += pick(*owner).buckets[b].get();
    double bound = b < N ? bounds_us[b] / 1e6 : std::numeric_limits<double>::infinity();
    h.bucket.push_back({cumulative, bound});
  }
  for (const auto* owner : owners) sum_us += pick(*owner).sum_us.get();
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(sum_us) / 1e6;
  return h;
}

inline void add_histogram(MetricFamily& f, Labels labels, ClientMetric::Histogram h) {
  ClientMetric m;
  m.label = std::move(labels);
  m.histogram = std::move(h);
  f.metric.push_back(std::move(m));
}

}  // namespace diresolver::metrics
