// A loop's upstream transport: what every query it sends to an upstream
// shares. Unpredictable query IDs, the receive buffer, connected UDP sockets
// per server (udp_socket_pool.hpp), pipelined TCP connections per server
// (tcp_pool.hpp) and attempt timeouts in one timer list per server. One kit
// per loop: each worker's for its live traffic, the control loop's for health
// probes and validation, so a probe travels the same path as a client's query.
//
// The kit makes the exchanges (it is their ExchangeFactory); they use its
// parts, so it must outlive every exchange it made.
#pragma once

#include <uv.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "metrics/counters.hpp"
#include "transport/exchange.hpp"
#include "transport/query_id.hpp"
#include "transport/tcp_pool.hpp"
#include "transport/udp_socket_pool.hpp"
#include "uv/timer_lists.hpp"

namespace diresolver {

class TransportKit final : public ExchangeFactory {
 public:
  TransportKit(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters);
  ~TransportKit() override;
  TransportKit(const TransportKit&) = delete;
  TransportKit& operator=(const TransportKit&) = delete;

  std::unique_ptr<Exchange> make(Transport transport) override;
  // The next TCP query to `server` opens a new connection at once, backoff or
  // not: validation must see that a fresh one works, not ride on one opened
  // long ago, nor be told "unavailable" because an earlier round failed.
  void reconnect(const Upstream& server) { tcp_.reconnect(server); }
  // Shutdown, once no exchange waits: closes every socket and timer. Exchanges
  // started afterwards fail at once.
  void close();

 private:
  // The parts the exchanges made here use.
  friend class PooledUdpExchange;
  friend class TcpExchange;
  WorkerCounters& counters() { return counters_; }
  QueryIdSource& ids() { return ids_; }
  UdpSocketPool& udp() { return udp_; }
  TcpPool& tcp() { return tcp_; }
  uv::TimerList& timeouts_for(const Upstream& server) { return timeouts_.of(server.id()); }
  // A writable copy of a TCP answer, valid until the next: one buffer per loop,
  // not one per exchange (a worker keeps thousands of exchanges for reuse).
  std::span<uint8_t> tcp_answer(dns::Bytes message) {
    std::copy(message.begin(), message.end(), tcp_answer_.begin());
    return {tcp_answer_.data(), message.size()};
  }

  WorkerCounters& counters_;
  QueryIdSource ids_;
  std::vector<uint8_t> scratch_;     // TCP reads: one connection at a time per loop
  std::vector<uint8_t> tcp_answer_;  // see tcp_answer()
  uv::TimerListsById timeouts_;
  TcpPool tcp_;
  UdpSocketPool udp_;
};

}  // namespace diresolver
