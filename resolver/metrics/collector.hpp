// The Prometheus view of the daemon, built at scrape time: per-worker
// counters are summed here, so the query path never touches a shared metric.
// Names follow Prometheus conventions (diresolver_ prefix, base units,
// _total counters); labels are bounded: zone, server (display name),
// transport, reason, result. The README lists every name.
#pragma once

#include <prometheus/collectable.h>

#include "cache/packet_cache.hpp"
#include "metrics/upstream_view.hpp"
#include "server/runtime.hpp"

namespace diresolver {

class MetricsCollector : public prometheus::Collectable {
 public:
  // `cache` may be null (caching disabled).
  MetricsCollector(const Runtime& runtime, CounterSources sources, const PacketCache* cache)
      : runtime_(runtime), sources_(std::move(sources)), cache_(cache) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Runtime& runtime_;
  CounterSources sources_;
  const PacketCache* cache_;
};

}  // namespace diresolver
