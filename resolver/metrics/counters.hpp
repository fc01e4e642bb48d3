// Per-worker event counters.
//
// Each worker thread owns one WorkerCounters and is its only writer, so an
// increment is a relaxed load and store, not a contended atomic add; readers
// (stats at shutdown, the metrics scrape) sum all workers' copies.
// The field list is written once, in DIRESOLVER_COUNTERS, and used for both.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace diresolver {

class Counter {
 public:
  void inc() { value_.store(value_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
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
  X(send_failures)       /* answers that could not be sent to the client */

struct WorkerCounters {
#define DIRESOLVER_COUNTER_FIELD(name) Counter name;
  DIRESOLVER_COUNTERS(DIRESOLVER_COUNTER_FIELD)
#undef DIRESOLVER_COUNTER_FIELD
};

struct CounterTotal {
  std::string name;
  uint64_t value;
};

// Sums every worker's counters, in declaration order.
std::vector<CounterTotal> sum_counters(const std::vector<const WorkerCounters*>& workers);

}  // namespace diresolver
