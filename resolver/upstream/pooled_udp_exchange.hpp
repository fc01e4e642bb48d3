// A client query's attempt to one upstream over UDP, through the worker's
// socket pool (UdpSocketPool): the socket is shared, the ID is this attempt's.
// Answers are checked for ID, QR, opcode and question like every exchange's;
// a mismatch is counted and ignored, and the attempt keeps waiting.
#pragma once

#include "upstream/exchange.hpp"
#include "upstream/udp_socket_pool.hpp"

namespace diresolver {

class PooledUdpExchange final : public Exchange, private UdpWaiter {
 public:
  PooledUdpExchange(const ExchangeRequest& request, UdpSocketPool& pool, ExchangeDone done);
  ~PooledUdpExchange() override { leave_socket(); }
  bool start() override;

 private:
  void on_datagram(std::span<uint8_t> packet) override;
  void on_socket_error() override;
  static void on_timeout(uv_timer_t* timer);
  void leave_socket();
  void finish(ExchangeResult&& result);

  ExchangeRequest request_;
  UdpSocketPool& pool_;
  uint16_t id_;
  ExchangeDone done_;
  PooledSocket* socket_ = nullptr;
  uv::Handle<uv_timer_t> timer_;
  bool saw_mismatch_ = false;
};

}  // namespace diresolver
