// Per-worker event counters.
//
// Each worker thread owns one WorkerCounters and is its only writer, so an
// increment is a relaxed load and store, not a contended atomic add; readers
// (stats at shutdown, the metrics scrape) sum all workers' copies. The
// control loop has one too, for health probes and validation. The fields are
// generated from the tables of metrics/catalog.hpp, which also say how each
// one is exported.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/catalog.hpp"
#include "upstream/outcome.hpp"

namespace diresolver {

class Counter {
 public:
  void inc() { store_add(1); }
  void store_add(uint64_t n) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A histogram of durations kept as per-bucket counters (upper bounds in
// microseconds, the last bucket is +Inf), so observing is a few compares and
// two thread-owned increments.
template <size_t N>
struct DurationHistogram {
  static constexpr size_t bucket_count = N + 1;
  std::array<Counter, N + 1> buckets;
  Counter sum_us;

  void observe(const std::array<uint32_t, N>& bounds_us, uint64_t duration_us) {
    size_t bucket = 0;
    while (bucket < N && duration_us > bounds_us[bucket]) ++bucket;
    buckets[bucket].inc();
    sum_us.store_add(duration_us);
  }
};

// Upstream RTT: loopback labs to intercontinental paths.
inline constexpr std::array<uint32_t, 12> rtt_bounds_us = {500,   1000,   2500,   5000,   10000,   25000,
                                                           50000, 100000, 250000, 500000, 1000000, 2500000};
// Client-observed latency (query read to answer written): from cache hits
// (tens of microseconds) to the 1.5 s forwarding deadline.
inline constexpr std::array<uint32_t, 15> latency_bounds_us = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
// Route counters are indexed by a zone's slot, stable across reloads (UpstreamRegistry::zone_slot).
inline constexpr size_t max_zone_slots = 256;

// What one worker saw of one upstream server (index: Upstream::id()).
struct ServerCounters {
#define DIRESOLVER_COUNTER_FIELD(field, family, source, label, value) Counter field;
  DIRESOLVER_SERVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::array<Counter, enum_count<UpstreamError>> failures;  // live attempts (workers) or probes (control loop)
  DurationHistogram<rtt_bounds_us.size()> rtt;

  void observe_rtt(uint32_t rtt_us) { rtt.observe(rtt_bounds_us, rtt_us); }
};

struct WorkerCounters {
  // Sized once (ids never exceed it), so a reload never reallocates what a scrape reads.
  explicit WorkerCounters(size_t server_slots) : servers(server_slots) {}
#define DIRESOLVER_COUNTER_FIELD(field, family, label, value) Counter field;
  DIRESOLVER_WORKER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::vector<ServerCounters> servers;
  std::array<Counter, 16> responses_by_rcode;  // every answer sent to a client, by header RCODE
  DurationHistogram<latency_bounds_us.size()> latency;
  std::array<Counter, max_zone_slots> routed;  // queries routed to each zone (by slot)
};

// What the control thread counts about the daemon itself.
// The last SIGHUP's outcome, for /status.
struct ReloadRecord {
  int64_t unix_s = 0;  // 0: none since start
  bool ok = false;
  std::string error;  // when not ok: file, key and reason
};

struct DaemonCounters {
  Counter reloads_ok;
  Counter reloads_failed;
  int64_t started_unix_s = 0;

  void record_reload(bool ok, std::string error);
  ReloadRecord last_reload() const;

 private:
  mutable std::mutex reload_mutex_;  // the control loop writes, the admin threads read
  ReloadRecord last_reload_;
};

struct CounterTotal {
  std::string name;
  uint64_t value;
};

// The shutdown stats line's numbers: every worker counter summed, in table
// order, then each server counter and failure reason summed over all servers
// ("upstream_hedges_sent", "upstream_failures_timeout", ...).
std::vector<CounterTotal> sum_counters(const std::vector<const WorkerCounters*>& workers);

}  // namespace diresolver
