#include "metrics/counters.hpp"

namespace diresolver {

void ServerCounters::observe_rtt(uint32_t rtt_us) {
  double seconds = rtt_us / 1e6;
  size_t bucket = 0;
  while (bucket < rtt_bucket_bounds.size() && seconds > rtt_bucket_bounds[bucket]) ++bucket;
  rtt_buckets[bucket].inc();
  rtt_sum_us.store_add(rtt_us);
}

std::vector<CounterTotal> sum_counters(const std::vector<const WorkerCounters*>& workers) {
  std::vector<CounterTotal> out;
#define DIRESOLVER_COUNTER_SUM(name)                        \
  {                                                         \
    uint64_t total = 0;                                     \
    for (const auto* w : workers) total += w->name.get();   \
    out.push_back({#name, total});                          \
  }
  DIRESOLVER_COUNTERS(DIRESOLVER_COUNTER_SUM)
#undef DIRESOLVER_COUNTER_SUM
  return out;
}

}  // namespace diresolver
