// Read-only views of numbers summed over all workers (per worker, per server), shared by
// the Prometheus collector and the /status page so both say the same thing.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "metrics/counters.hpp"
#include "upstream/error.hpp"

namespace diresolver {

struct CounterSources {
  std::vector<const WorkerCounters*> traffic;  // one per worker
  const WorkerCounters* probes = nullptr;      // the prober's
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
