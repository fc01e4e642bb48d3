#include "metrics/counters.hpp"

namespace diresolver {

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
