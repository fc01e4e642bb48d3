// The Prometheus view of the daemon, built at scrape time: per-worker
// counters are summed here, so the query path never touches a shared metric.
// Names follow Prometheus conventions (diresolver_ prefix, base units,
// _total counters); labels are bounded: zone, region, server (display
// name), route, transport, rcode, reason, result, never a query name or a
// client address. Every family is defined in metrics/catalog.hpp.
#pragma once

#include <prometheus/collectable.h>

#include <functional>

#include "cache/packet_cache.hpp"
#include "metrics/sums.hpp"
#include "readiness/gate.hpp"
#include "server/runtime.hpp"

namespace diresolver {

class MetricsCollector : public prometheus::Collectable {
 public:
  // `runtime` gives the current one (it changes on reload); `cache` may be null.
  MetricsCollector(std::function<RuntimePtr()> runtime, CounterSources sources, const PacketCache* cache,
                   const DaemonCounters& daemon, const ReadinessGate& gate)
      : runtime_(std::move(runtime)), sources_(std::move(sources)), cache_(cache), daemon_(daemon), gate_(gate) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<RuntimePtr()> runtime_;
  CounterSources sources_;
  const PacketCache* cache_;
  const DaemonCounters& daemon_;
  const ReadinessGate& gate_;
};

}  // namespace diresolver
