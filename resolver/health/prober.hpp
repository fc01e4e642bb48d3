// Active health checks: a DNS query (never ICMP: the DI servers drop ping) to
// every server of every set, on the control loop, one in flight per server.
//
// A probe asks the set's probe name and type (default: the zone apex SOA) and
// succeeds only on a well-formed answer that matches the query, with rcode
// NOERROR or NXDOMAIN; anything else is a failure of a named kind. Results
// feed the same health state as live traffic. Healthy servers are probed every
// interval, down ones twice as often, so a return is noticed quickly. A
// `tcp_only` set's servers are probed over TCP, as their traffic goes.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "metrics/counters.hpp"
#include "transport/exchange.hpp"
#include "transport/query_id.hpp"
#include "transport/tcp_pool.hpp"
#include "upstream/upstream_set.hpp"
#include "uv/graveyard.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class Prober {
 public:
  Prober(uv_loop_t* loop, const std::vector<UpstreamSet>& sets, const HealthConfig& health,
         const UpstreamSettings& upstream, WorkerCounters& counters);
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
  QueryIdSource ids_;
  std::vector<uint8_t> scratch_;
  TcpPool tcp_;  // outlives the exchanges below: they leave it when destroyed
  uv::Graveyard<Exchange> dead_exchanges_;
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace diresolver
