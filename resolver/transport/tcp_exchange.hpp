// An attempt over TCP, on the kit's pooled connection to that server (see
// tcp_pool.hpp). Used when a UDP answer came back truncated, and for every
// query of a `tcp_only` set. Its ID is unique on the connection (re-drawn on
// a clash), and if the server closes a connection that had been working, the
// query is sent once more on a new one (RFC 7766 §6.2.3 lets servers close at
// will). Reused attempt after attempt, like the UDP exchange; its timeout is a
// node of the kit's timer list for the server.
#pragma once

#include <vector>

#include "transport/exchange.hpp"
#include "transport/kit.hpp"
#include "transport/exchange_judge.hpp"
#include "uv/timer_list.hpp"

namespace diresolver {

class TcpExchange final : public Exchange, private PendingAnswer {
 public:
  explicit TcpExchange(TransportKit& kit) : kit_(kit) {}
  ~TcpExchange() override { abandon(); }
  std::optional<UpstreamError> start(const ExchangeRequest& request, ExchangeDone done) override;
  void abandon() override;

 private:
  std::optional<UpstreamError> submit();  // nullopt: sent
  bool on_answer(dns::Bytes message) override;
  void on_connection_failed() override;
  static void on_timeout(void* self);
  void stop_waiting();
  void finish(ExchangeResult&& result);

  TransportKit& kit_;
  const Upstream* server_ = nullptr;
  const dns::ParsedQuery* query_ = nullptr;
  std::vector<uint8_t> packet_;  // our own copy: the ID may be re-drawn, and a resend needs it
  uint16_t id_ = 0;
  bool waiting_ = false;
  bool resent_ = false;
  bool saw_mismatch_ = false;
  ExchangeDone done_;
  uv::TimerList* timeouts_ = nullptr;  // the server's list, while started
  uv::ListTimer timer_;
  StallGrace grace_;
};

}  // namespace diresolver
