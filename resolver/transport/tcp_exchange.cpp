#include "transport/tcp_exchange.hpp"

namespace diresolver {

TcpExchange::TcpExchange(const ExchangeRequest& request, TcpPool& pool, ExchangeDone done)
    : request_(request), pool_(pool), packet_(request.packet.begin(), request.packet.end()), done_(std::move(done)) {}

TcpExchange::~TcpExchange() {
  if (waiting_) pool_.cancel(*request_.server, id_, this);
}

bool TcpExchange::start() {
  if (uv_timer_init(request_.loop, timer_.get()) != 0) return false;
  timer_.adopt(this);
  if (!submit()) return false;
  uv_timer_start(timer_.get(), on_timeout, request_.timeout_ms, 0);
  return true;
}

bool TcpExchange::submit() {
  // A few draws make a clash vanishingly unlikely even with thousands in flight.
  for (int draw = 0; draw < 8; ++draw) {
    if (draw > 0) dns::set_id(packet_, request_.ids->next());
    id_ = dns::id_of(packet_);
    auto result = pool_.submit(*request_.server, packet_, this);
    if (result == SubmitResult::sent) return waiting_ = true;
    if (result == SubmitResult::unavailable) return false;
  }
  return false;
}

bool TcpExchange::on_answer(dns::Bytes message) {
  // A copy the exchange keeps: the connection's buffer moves on once this returns.
  answer_.assign(message.begin(), message.end());
  auto result = judge_answer(answer_, id_, request_);
  if (!result) {
    saw_mismatch_ = true;
    return false;
  }
  waiting_ = false;
  finish(std::move(*result));
  return true;
}

void TcpExchange::on_connection_failed() {
  waiting_ = false;
  if (!resent_) {
    resent_ = true;
    if (submit()) return;
  }
  request_.counters->upstream_network.inc();
  finish({false, UpstreamError::network, {}});
}

void TcpExchange::on_timeout(uv_timer_t* timer) {
  auto* self = uv::Handle<uv_timer_t>::owner_of<TcpExchange>(timer);
  if (!self) return;
  if (self->waiting_) self->pool_.cancel(*self->request_.server, self->id_, self);
  self->waiting_ = false;
  self->finish(timed_out(self->request_, self->saw_mismatch_));
}

void TcpExchange::finish(ExchangeResult&& result) {
  timer_.close();
  auto done = std::move(done_);
  if (done) done(std::move(result));  // may retire this exchange: nothing after this line
}

}  // namespace diresolver
