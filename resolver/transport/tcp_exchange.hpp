// A query to one upstream over TCP, on the worker's pooled connection to that
// server (see tcp_pool.hpp). Used when a UDP answer came back truncated, and
// for every query of a `tcp_only` set. Its ID is unique on the connection
// (re-drawn on a clash), and if the server closes a connection that had been
// working, the query is sent once more on a new one (RFC 7766 §6.2.3 lets
// servers close at will).
#pragma once

#include "transport/exchange.hpp"
#include "transport/tcp_pool.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class TcpExchange final : public Exchange, private PendingAnswer {
 public:
  TcpExchange(const ExchangeRequest& request, TcpPool& pool, ExchangeDone done);
  ~TcpExchange() override;
  bool start() override;

 private:
  bool submit();
  bool on_answer(dns::Bytes message) override;
  void on_connection_failed() override;
  static void on_timeout(uv_timer_t* timer);
  void finish(ExchangeResult&& result);

  ExchangeRequest request_;
  TcpPool& pool_;
  std::vector<uint8_t> packet_;  // our own copy: the ID may be re-drawn, and a resend needs it
  uint16_t id_ = 0;
  bool waiting_ = false;
  bool resent_ = false;
  bool saw_mismatch_ = false;
  std::vector<uint8_t> answer_;  // something answered with our ID but was not the answer
  ExchangeDone done_;
  uv::Handle<uv_timer_t> timer_;
};

}  // namespace diresolver
