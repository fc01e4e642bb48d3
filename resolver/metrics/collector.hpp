// The Prometheus view of the daemon, built at scrape time: per-worker
// counters are summed here, so the query path never touches a shared metric.
// Names follow Prometheus conventions (diresolver_ prefix, base units,
// _total counters); labels are bounded: zone, server (display name),
// transport, reason, result. The README lists every name.
#pragma once

#include <prometheus/collectable.h>

#include "metrics/upstream_view.hpp"
#include "server/runtime.hpp"

namespace diresolver {

class MetricsCollector : public prometheus::Collectable {
 public:
  MetricsCollector(const Runtime& runtime, CounterSources sources) : runtime_(runtime), sources_(std::move(sources)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Runtime& runtime_;
  CounterSources sources_;
};

}  // namespace diresolver
