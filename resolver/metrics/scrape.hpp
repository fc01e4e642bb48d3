// A scrape's families from the counters, the server model and the cache:
// everything but the readiness gate's, which the admin collector adds.
#pragma once

#include <vector>

#include "cache/packet_cache.hpp"
#include "config/config.hpp"
#include "metrics/family_set.hpp"
#include "metrics/sums.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver::metrics {

struct ScrapeInput {
  const std::vector<ZoneSpec>& zones;       // the running config's zones
  const std::vector<unsigned>& zone_slots;  // each zone's route counter slot
  const std::vector<UpstreamSet>& sets;     // each zone's set, indexed as `zones`
  const CounterSources& counters;
  const DaemonCounters& daemon;
  const CacheStats* cache;  // null: caching is off, and so are the cache's families
};

void add_counter_families(FamilySet& out, const ScrapeInput& in);
// The standard process_* metrics and diresolver_build_info.
void add_process_families(FamilySet& out);

}  // namespace diresolver::metrics
