// The Prometheus view of the daemon, built at scrape time: per-worker
// counters are summed here, so the query path never touches a shared metric.
// Names follow Prometheus conventions (diresolver_ prefix, base units,
// _total counters); labels are bounded: zone, server (display name),
// transport, reason, result. The README lists every name.
#pragma once

#include <prometheus/collectable.h>

#include "cache/packet_cache.hpp"
#include "metrics/upstream_view.hpp"
#include <functional>

#include "server/runtime.hpp"

namespace diresolver {

class MetricsCollector : public prometheus::Collectable {
 public:
  // `runtime` gives the current one (it changes on reload); `cache` may be null.
  MetricsCollector(std::function<RuntimePtr()> runtime, CounterSources sources, const PacketCache* cache,
                   const DaemonCounters& daemon)
      : runtime_(std::move(runtime)), sources_(std::move(sources)), cache_(cache), daemon_(daemon) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<RuntimePtr()> runtime_;
  CounterSources sources_;
  const PacketCache* cache_;
  const DaemonCounters& daemon_;
};

}  // namespace diresolver
