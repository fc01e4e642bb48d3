// Read-only views of per-server numbers summed over all workers, shared by
// the Prometheus collector and the /status page so both say the same thing.
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/counters.hpp"
#include "upstream/error.hpp"

namespace diresolver {

struct CounterSources {
  std::vector<const WorkerCounters*> traffic;  // one per worker
  const WorkerCounters* probes = nullptr;      // the prober's
};

template <class Field>
uint64_t sum_server(const std::vector<const WorkerCounters*>& workers, unsigned id, Field field) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += (worker->servers[id].*field).get();
  return total;
}

inline uint64_t sum_failures(const std::vector<const WorkerCounters*>& workers, unsigned id, UpstreamError e) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += worker->servers[id].failures[static_cast<size_t>(e)].get();
  return total;
}

inline constexpr UpstreamError all_upstream_errors[] = {
    UpstreamError::timeout,   UpstreamError::network,   UpstreamError::refused,
    UpstreamError::servfail,  UpstreamError::malformed, UpstreamError::mismatched};

}  // namespace diresolver
