// Numbers summed over every loop's counters (per worker, per server), shared
// by the Prometheus families and the /status page so both say the same thing.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "metrics/counters.hpp"

namespace diresolver {

struct CounterSources {
  std::vector<const WorkerCounters*> traffic;  // one per worker
  const WorkerCounters* probes = nullptr;      // the control loop's: health probes and validation
};

inline uint64_t sum_workers(const std::vector<const WorkerCounters*>& workers, Counter WorkerCounters::*field) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += (worker->*field).get();
  return total;
}

// One element of a per-worker counter array (by rcode, by zone slot), summed.
template <size_t N>
uint64_t sum_workers_at(const std::vector<const WorkerCounters*>& workers,
                        std::array<Counter, N> WorkerCounters::*field, size_t index) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += (worker->*field)[index].get();
  return total;
}

inline uint64_t sum_server(const std::vector<const WorkerCounters*>& workers, unsigned id,
                           Counter ServerCounters::*field) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += (worker->servers[id].*field).get();
  return total;
}

inline uint64_t sum_failures(const std::vector<const WorkerCounters*>& workers, unsigned id, UpstreamError e) {
  uint64_t total = 0;
  for (const auto* worker : workers) total += worker->servers[id].failures[index_of(e)].get();
  return total;
}

}  // namespace diresolver
