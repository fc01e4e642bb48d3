#include "transport/tcp_exchange.hpp"

#include "transport/exchange_judge.hpp"

namespace diresolver {

std::optional<UpstreamError> TcpExchange::start(const ExchangeRequest& request, ExchangeDone done) {
  auto& timeouts = kit_.timeouts_for(*request.server);
  if (!timeouts.is_open()) return UpstreamError::local;
  server_ = request.server;
  query_ = request.query;
  packet_.assign(request.packet.begin(), request.packet.end());
  resent_ = saw_mismatch_ = false;
  grace_ = {};
  timeouts_ = &timeouts;
  if (auto refused = submit()) return refused;
  done_ = std::move(done);
  timeouts.start(timer_, request.timeout_ms, on_timeout, this);
  return std::nullopt;
}

std::optional<UpstreamError> TcpExchange::submit() {
  // A few draws make a clash vanishingly unlikely even with thousands in flight.
  for (int draw = 0; draw < 8; ++draw) {
    id_ = kit_.ids().next();
    dns::set_id(packet_, id_);
    auto result = kit_.tcp().submit(*server_, packet_, this);
    if (result == SubmitResult::sent) {
      waiting_ = true;
      return std::nullopt;
    }
    if (result == SubmitResult::no_descriptors) return UpstreamError::local;
    if (result == SubmitResult::unavailable) return UpstreamError::network;
  }
  return UpstreamError::network;
}

void TcpExchange::abandon() {
  stop_waiting();
  timer_.stop();
  done_ = nullptr;
}

void TcpExchange::stop_waiting() {
  if (waiting_) kit_.tcp().cancel(*server_, id_, this);
  waiting_ = false;
}

bool TcpExchange::on_answer(dns::Bytes message) {
  // The connection's buffer moves on once a message is dispatched; the kit's
  // one answer buffer is free, since each answer is done with before the next.
  auto answer = kit_.tcp_answer(message);
  auto result = judge_answer(answer, id_, *query_, kit_.counters());
  if (!result) {
    saw_mismatch_ = true;
    return false;
  }
  waiting_ = false;  // the connection has let go of us already
  finish(std::move(*result));
  return true;
}

void TcpExchange::on_connection_failed() {
  waiting_ = false;
  auto error = UpstreamError::network;
  if (!resent_) {
    resent_ = true;
    auto refused = submit();
    if (!refused) return;
    error = *refused;
  }
  finish(ExchangeResult::failed(error));
}

void TcpExchange::on_timeout(void* owner) {
  auto* self = static_cast<TcpExchange*>(owner);
  if (self->grace_.wait_once_more(*self->timeouts_, self->timer_, on_timeout, self, self->kit_.counters())) return;
  self->finish(timed_out(self->saw_mismatch_));
}

void TcpExchange::finish(ExchangeResult&& result) {
  auto done = std::move(done_);
  abandon();
  if (done) done(std::move(result));  // may end the transaction that owns this object: nothing after this line
}

}  // namespace diresolver
