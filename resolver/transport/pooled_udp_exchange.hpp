// A client query's attempt to one upstream over UDP, through the worker's
// socket pool (UdpSocketPool): the socket is shared, the ID is this attempt's.
// Answers are checked for ID, QR, opcode and question like every exchange's;
// a mismatch is counted and ignored, and the attempt keeps waiting.
//
// One object serves attempt after attempt (a transaction keeps its own and
// reuses them with the transaction), and its timeout is a node of the
// worker's timer list for the server it asks, so an attempt costs no allocation and no
// handle set-up or close.
#pragma once

#include "transport/exchange.hpp"
#include "forward/forward_timers.hpp"
#include "transport/udp_socket_pool.hpp"
#include "uv/timer_list.hpp"

namespace diresolver {

class PooledUdpExchange final : public Exchange, private UdpWaiter {
 public:
  PooledUdpExchange(ForwardTimers& timers, UdpSocketPool& pool);
  ~PooledUdpExchange() override { leave_socket(); }
  // The next attempt; the previous one has finished or been abandoned.
  void prepare(const ExchangeRequest& request, ExchangeDone done);
  bool start() override;
  // Stops waiting without calling back (the transaction is done with it).
  void abandon();

 private:
  void on_datagram(std::span<uint8_t> packet) override;
  void on_socket_error() override;
  static void on_timeout(void* self);
  void leave_socket();
  void finish(ExchangeResult&& result);

  ExchangeRequest request_{};
  ForwardTimers& timers_;
  UdpSocketPool& pool_;
  uint16_t id_ = 0;
  ExchangeDone done_;
  PooledSocket* socket_ = nullptr;
  uv::ListTimer timer_;
  bool saw_mismatch_ = false;
};

}  // namespace diresolver
