// Per-worker event counters.
//
// Each worker thread owns one WorkerCounters and is its only writer, so an
// increment is a relaxed load and store, not a contended atomic add; readers
// (stats at shutdown, the metrics scrape) sum all workers' copies.
// The field list is written once, in DIRESOLVER_COUNTERS, and used for both.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace diresolver {

class Counter {
 public:
  void inc() { store_add(1); }
  void store_add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

#define DIRESOLVER_COUNTERS(X)                                                   \
  X(queries_udp)         /* client queries received over UDP */                 \
  X(queries_tcp)         /* client queries received over TCP */                 \
  X(malformed)           /* client packets dropped or answered FORMERR */       \
  X(formerr)             /* FORMERR answers sent */                             \
  X(notimp)              /* NOTIMP answers (opcode other than QUERY) */         \
  X(acl_refused)         /* clients outside the ACL, answered REFUSED */        \
  X(no_route_refused)    /* names outside every zone without a default set */   \
  X(answered)            /* upstream answers relayed to clients */              \
  X(servfail)            /* SERVFAIL sent because no upstream answered */       \
  X(truncated_to_client) /* answers too big for a UDP client, sent with TC=1 */ \
  X(upstream_timeouts)   /* upstream attempts that got no answer in time */     \
  X(upstream_network)    /* upstream attempts that failed to send or connect */ \
  X(upstream_malformed)  /* upstream answers that did not parse */              \
  X(upstream_mismatched) /* packets ignored: wrong ID, question or source */    \
  X(tcp_retries)         /* TC=1 upstream answers retried over TCP */           \
  X(tcp_connections)     /* client TCP connections accepted */                  \
  X(tcp_rejected)        /* client TCP connections closed at the limit */       \
  X(tcp_paused)          /* client TCP reads paused: too much unanswered */     \
  X(tcp_closed)          /* accepted client TCP connections since closed */     \
  X(send_failures)       /* answers that could not be sent to the client */         \
  X(udp_batched_answers) /* UDP answers written by one sendmmsg with others */    \
  X(hedges)              /* extra attempts sent because the first was slow */     \
  X(late_answers)        /* valid upstream answers that came after the winner */ \
  X(upstream_tcp_connects) /* TCP connections opened to upstreams */           \
  X(cache_hits)          /* answers served fresh from the cache */                \
  X(cache_misses)        /* queries the cache could not answer */                 \
  X(cache_stale_served)  /* expired answers served (RFC 8767) */                   \
  X(cache_prefetches)    /* background refreshes of popular entries */           \
  X(not_ready)           /* DI queries answered SERVFAIL/EDE 14 before validation */

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
inline constexpr std::array<uint32_t, 12> rtt_bounds_us = {500,    1000,   2500,   5000,    10000,   25000,
                                                           50000,  100000, 250000, 500000,  1000000, 2500000};
// Client-observed latency (query read to answer written): from cache hits
// (tens of microseconds) to the 1.5 s forwarding deadline.
inline constexpr std::array<uint32_t, 15> latency_bounds_us = {50,    100,    250,    500,    1000,
                                                               2500,  5000,   10000,  25000,  50000,
                                                               100000, 250000, 500000, 1000000, 2500000};
// Route counters are indexed by a zone's slot, stable across reloads (UpstreamRegistry::zone_slot).
inline constexpr size_t max_zone_slots = 256;

#define DIRESOLVER_SERVER_COUNTERS(X) \
  X(queries_udp)                      \
  X(queries_tcp)                      \
  X(answers)                          \
  X(hedges_sent)                      \
  X(hedges_won)                       \
  X(late_answers)                     \
  X(tcp_connects)                     \
  X(probes_ok)                        \
  X(probes_failed)                    \
  X(failover_answers)

// What one worker saw of one upstream server (index: Upstream::id()).
struct ServerCounters {
#define DIRESOLVER_COUNTER_FIELD(name) Counter name;
  DIRESOLVER_SERVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::array<Counter, 6> failures;  // by UpstreamError
  DurationHistogram<rtt_bounds_us.size()> rtt;

  void observe_rtt(uint32_t rtt_us) { rtt.observe(rtt_bounds_us, rtt_us); }
};

struct WorkerCounters {
  // Sized once (ids never exceed it), so a reload never reallocates what a scrape reads.
  explicit WorkerCounters(size_t server_slots) : servers(server_slots) {}
#define DIRESOLVER_COUNTER_FIELD(name) Counter name;
  DIRESOLVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::vector<ServerCounters> servers;
  std::array<Counter, 16> responses_by_rcode;  // every answer sent to a client, by header RCODE
  DurationHistogram<latency_bounds_us.size()> latency;
  std::array<Counter, max_zone_slots> routed;  // queries routed to each zone (by slot)
};

// What the control thread counts about the daemon itself.
struct DaemonCounters {
  Counter reloads_ok;
  Counter reloads_failed;
};

struct CounterTotal {
  std::string name;
  uint64_t value;
};

// Sums every worker's counters, in declaration order.
std::vector<CounterTotal> sum_counters(const std::vector<const WorkerCounters*>& workers);

}  // namespace diresolver
