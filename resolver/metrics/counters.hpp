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
  X(send_failures)       /* answers that could not be sent to the client */         \
  X(hedges)              /* extra attempts sent because the first was slow */     \
  X(late_answers)        /* valid upstream answers that came after the winner */ \
  X(upstream_tcp_connects) /* TCP connections opened to upstreams */           \
  X(cache_hits)          /* answers served fresh from the cache */                \
  X(cache_misses)        /* queries the cache could not answer */                 \
  X(cache_stale_served)  /* expired answers served (RFC 8767) */                   \
  X(cache_prefetches)    /* background refreshes of popular entries */           \
  X(not_ready)           /* DI queries answered SERVFAIL/EDE 14 before validation */

// Upstream RTT histogram buckets, in seconds: loopback labs to intercontinental paths.
inline constexpr std::array<double, 12> rtt_bucket_bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

#define DIRESOLVER_SERVER_COUNTERS(X) \
  X(queries_udp)                      \
  X(queries_tcp)                      \
  X(answers)                          \
  X(hedges_sent)                      \
  X(hedges_won)                       \
  X(late_answers)                     \
  X(tcp_connects)                     \
  X(probes_ok)                        \
  X(probes_failed)

// What one worker saw of one upstream server (index: Upstream::id()).
struct ServerCounters {
#define DIRESOLVER_COUNTER_FIELD(name) Counter name;
  DIRESOLVER_SERVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::array<Counter, 6> failures;  // by UpstreamError
  std::array<Counter, rtt_bucket_bounds.size() + 1> rtt_buckets;  // last: +Inf
  Counter rtt_sum_us;

  void observe_rtt(uint32_t rtt_us);
};

struct WorkerCounters {
  // Sized once (ids never exceed it), so a reload never reallocates what a scrape reads.
  explicit WorkerCounters(size_t server_slots) : servers(server_slots) {}
#define DIRESOLVER_COUNTER_FIELD(name) Counter name;
  DIRESOLVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
  std::vector<ServerCounters> servers;
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
