#include "transport/kit.hpp"

#include "transport/pooled_udp_exchange.hpp"
#include "transport/tcp_exchange.hpp"

namespace diresolver {

TransportKit::TransportKit(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters)
    : counters_(counters),
      scratch_(65536),
      tcp_answer_(65535),
      timeouts_(uv::TimeSource::of_loop(loop)),
      tcp_(loop, settings.tcp_idle_timeout_ms, settings.tcp_connect_timeout_ms, counters, scratch_),
      udp_(loop, counters) {}

TransportKit::~TransportKit() { close(); }

std::unique_ptr<Exchange> TransportKit::make(Transport transport) {
  if (transport == Transport::tcp) return std::make_unique<TcpExchange>(*this);
  return std::make_unique<PooledUdpExchange>(*this);
}

void TransportKit::close() {
  tcp_.close_all();
  udp_.close_all();
  timeouts_.close();
}

}  // namespace diresolver
