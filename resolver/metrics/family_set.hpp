// The families of one scrape: samples added in any order, under the
// catalog's families (metrics/catalog.hpp), taken in catalog order. Every
// family is built afresh at scrape time from summed counters.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <array>
#include <limits>
#include <string>
#include <vector>

#include "metrics/catalog.hpp"
#include "metrics/counters.hpp"

namespace diresolver::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using Labels = std::vector<ClientMetric::Label>;

inline Labels with(Labels labels, std::string name, std::string value) {
  if (!name.empty()) labels.push_back({std::move(name), std::move(value)});
  return labels;
}

inline prometheus::MetricType prometheus_type(Type type) {
  switch (type) {
    case Type::Counter: return prometheus::MetricType::Counter;
    case Type::Gauge: return prometheus::MetricType::Gauge;
    case Type::Histogram: return prometheus::MetricType::Histogram;
  }
  return prometheus::MetricType::Untyped;
}

class FamilySet {
 public:
  // A counter or gauge sample, as the family's type says.
  void add(Family family, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    if (def(family).type == Type::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    samples_[static_cast<size_t>(family)].push_back(std::move(m));
  }
  void add_histogram(Family family, Labels labels, ClientMetric::Histogram histogram) {
    ClientMetric m;
    m.label = std::move(labels);
    m.histogram = std::move(histogram);
    samples_[static_cast<size_t>(family)].push_back(std::move(m));
  }
  // The families that have samples, in catalog order.
  std::vector<MetricFamily> take() {
    std::vector<MetricFamily> out;
    for (size_t i = 0; i < family_count; ++i) {
      if (samples_[i].empty()) continue;
      const auto& d = family_defs[i];
      out.push_back({std::string(d.name), std::string(d.help), prometheus_type(d.type), std::move(samples_[i])});
    }
    return out;
  }

 private:
  std::array<std::vector<ClientMetric>, family_count> samples_;
};

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

}  // namespace diresolver::metrics
