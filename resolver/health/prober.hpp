// Active health checks: a DNS query (never ICMP: the DI servers drop ping) to
// every server of every set, on the control loop, one in flight per server,
// through the control loop's transport kit: the same pooled sockets and
// answer checks as a client's query.
//
// A probe asks the set's probe name and type (default: the zone apex SOA). Its
// answer means what a live answer means (failure_in_answer: NOERROR and
// NXDOMAIN pass, REFUSED and the other error RCODEs fail), and feeds the same
// health state as live traffic. Healthy servers are probed every interval,
// down ones twice as often, so a return is noticed quickly. A `tcp_only`
// set's servers are probed over TCP, as their traffic goes.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "metrics/counters.hpp"
#include "transport/exchange.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

class Prober {
 public:
  // `timeout_ms` bounds each probe; the factory's exchanges must outlive the prober.
  Prober(uv_loop_t* loop, ExchangeFactory& exchanges, const std::vector<UpstreamSet>& sets, const HealthConfig& health,
         uint32_t timeout_ms, WorkerCounters& counters);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void stop();

 private:
  class Target;
  uv_loop_t* loop_;
  HealthConfig health_;
  uint32_t timeout_ms_;
  WorkerCounters& counters_;
  std::vector<std::unique_ptr<Target>> targets_;
};

// A probe must end before the next is due, and never wait longer than live traffic would.
inline uint32_t probe_timeout_ms(const HealthConfig& health, const UpstreamSettings& upstream) {
  return std::min(upstream.attempt_timeout_ms, health.interval_ms);
}

}  // namespace diresolver
