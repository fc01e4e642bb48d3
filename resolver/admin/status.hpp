// The /status page: JSON of the daemon (version, uptime, the last reload), the
// readiness gate (state and why), the cache, and every zone's upstream set, per
// server its health, last probe, SRTT and traffic counts, for operators and scripts.
#pragma once

#include <optional>
#include <string>

#include "cache/packet_cache.hpp"
#include "metrics/sums.hpp"
#include "readiness/gate.hpp"
#include "server/runtime.hpp"

namespace diresolver {

struct StatusSources {
  const DaemonCounters& daemon;
  ReadinessView readiness;
  std::optional<CacheStats> cache;  // none: caching is off
};

std::string status_json(const Runtime& runtime, const CounterSources& sources, const StatusSources& more);

// Client queries the cache answered and did not, summed over the workers.
struct CacheTotals {
  uint64_t hits = 0, misses = 0;
  bool any() const { return hits + misses > 0; }
  double hit_ratio() const { return any() ? double(hits) / double(hits + misses) : 0.0; }
};
CacheTotals cache_totals(const CounterSources& sources);

}  // namespace diresolver
