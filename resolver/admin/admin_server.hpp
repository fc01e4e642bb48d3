// The admin HTTP endpoint and its pages, served by civetweb's own threads:
//   GET  /metrics       Prometheus text (admin/collector.hpp)
//   GET  /status        JSON of every zone's servers (admin/status.hpp)
//   GET  /readyz        200 once forwarding is validated (degraded included), else 503
//   GET  /readyz?for=address
//                       200 while this node should hold the service address, else 503
//                       (readiness/address_verdict.hpp)
//   GET  /healthz       200 while the process serves HTTP at all
//   GET  /              the status page (admin/status_page.hpp)
// Nothing here changes the daemon: the listener may face the network for
// Prometheus. Mutations go through the control socket (daemon/control_socket.hpp).
// Pages read only what is safe from another thread: atomics, the counters,
// mutex-guarded snapshots.
#pragma once

#include <functional>
#include <memory>

#include "admin/http_server.hpp"
#include "cache/packet_cache.hpp"
#include "metrics/sums.hpp"
#include "readiness/address_verdict.hpp"
#include "readiness/gate.hpp"
#include "server/loop_watch.hpp"
#include "server/runtime.hpp"

namespace diresolver {

struct AdminSources {
  std::function<RuntimePtr()> runtime;  // the current one: it changes on reload
  CounterSources counters;
  PacketCache* cache;  // null: caching is off
  const DaemonCounters& daemon;
  const ReadinessGate& gate;
  const LoopWatch& loops;
};

class AdminServer {
 public:
  // Throws std::runtime_error naming the address when it cannot listen.
  AdminServer(const SockAddr& listen, AdminSources sources);
  void close() { http_.close(); }

 private:
  HttpServer http_;
};

HttpReply readyz_reply(const ReadinessView& view);
HttpReply address_reply(const AddressVerdict& verdict);

}  // namespace diresolver
