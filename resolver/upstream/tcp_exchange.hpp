// A query to one upstream over TCP, on the worker's pooled connection to that
// server (see tcp_pool.hpp). Used when a UDP answer came back truncated, and
// for every query of a `tcp_only` set.
#pragma once

#include "upstream/exchange.hpp"
#include "upstream/tcp_pool.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class TcpExchange final : public Exchange, private PendingAnswer {
 public:
  TcpExchange(const ExchangeRequest& request, TcpPool& pool, ExchangeDone done);
  ~TcpExchange() override;
  bool start() override;

 private:
  bool on_answer(dns::Bytes message) override;
  void on_connection_failed() override;
  static void on_timeout(uv_timer_t* timer);
  void finish(ExchangeResult&& result);

  ExchangeRequest request_;
  TcpPool& pool_;
  uint16_t id_;
  bool waiting_ = false;
  ExchangeDone done_;
  uv::Handle<uv_timer_t> timer_;
};

}  // namespace diresolver
