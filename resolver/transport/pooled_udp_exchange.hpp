// An attempt over UDP, through the kit's socket pool (UdpSocketPool): the
// socket is shared, the ID is this attempt's. Answers are checked for ID, QR,
// opcode and question like every exchange's; a mismatch is counted and
// ignored, and the attempt keeps waiting.
//
// One object serves attempt after attempt, and its timeout is a node of the
// kit's timer list for the server it asks, so an attempt costs no allocation
// and no handle set-up or close.
#pragma once

#include "transport/exchange.hpp"
#include "transport/exchange_judge.hpp"
#include "transport/kit.hpp"
#include "uv/timer_list.hpp"

namespace diresolver {

class PooledUdpExchange final : public Exchange, private UdpWaiter {
 public:
  explicit PooledUdpExchange(TransportKit& kit) : kit_(kit) {}
  ~PooledUdpExchange() override { abandon(); }
  std::optional<UpstreamError> start(const ExchangeRequest& request, ExchangeDone done) override;
  void abandon() override;

 private:
  void on_datagram(std::span<uint8_t> packet) override;
  void on_socket_error() override;
  static void on_timeout(void* self);
  void leave_socket();
  void finish(ExchangeResult&& result);

  TransportKit& kit_;
  const dns::ParsedQuery* query_ = nullptr;
  uint16_t id_ = 0;
  ExchangeDone done_;
  PooledSocket* socket_ = nullptr;
  uv::TimerList* timeouts_ = nullptr;  // the server's list, while started
  uv::ListTimer timer_;
  StallGrace grace_;
  bool saw_mismatch_ = false;
};

}  // namespace diresolver
