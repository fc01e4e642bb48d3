// The Prometheus view of the daemon, built at scrape time: per-worker
// counters are summed here, so the query path never touches a shared metric.
// Names follow Prometheus conventions (diresolver_ prefix, base units,
// _total counters); labels are bounded: zone, region, server (display
// name), route, transport, rcode, reason, result, never a query name or a
// client address. The README lists every name; a test compares it with a scrape.
#pragma once

#include <prometheus/collectable.h>

#include <functional>

#include "cache/packet_cache.hpp"
#include "metrics/upstream_view.hpp"
#include "server/runtime.hpp"

namespace diresolver {

class MetricsCollector : public prometheus::Collectable {
 public:
  // `runtime` gives the current one (it changes on reload); `cache` may be null.
  // `extra` adds families owned elsewhere (the readiness gate's).
  MetricsCollector(std::function<RuntimePtr()> runtime, CounterSources sources, const PacketCache* cache,
                   const DaemonCounters& daemon, std::function<std::vector<prometheus::MetricFamily>()> extra)
      : runtime_(std::move(runtime)), sources_(std::move(sources)), cache_(cache), daemon_(daemon),
        extra_(std::move(extra)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::function<RuntimePtr()> runtime_;
  CounterSources sources_;
  const PacketCache* cache_;
  const DaemonCounters& daemon_;
  std::function<std::vector<prometheus::MetricFamily>()> extra_;
};

}  // namespace diresolver
