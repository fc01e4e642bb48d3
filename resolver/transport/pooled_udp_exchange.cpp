#include "transport/pooled_udp_exchange.hpp"

#include "transport/exchange_judge.hpp"

namespace diresolver {

std::optional<UpstreamError> PooledUdpExchange::start(const ExchangeRequest& request, ExchangeDone done) {
  const auto& server = *request.server;
  auto& timeouts = kit_.timeouts_for(server);
  if (!timeouts.is_open()) return UpstreamError::local;  // shutting down: without a timeout it could wait forever
  query_ = request.query;
  id_ = kit_.ids().next();
  dns::set_id(request.packet, id_);
  saw_mismatch_ = false;
  grace_ = {};
  timeouts_ = &timeouts;
  socket_ = kit_.udp().attach(server.id(), server.address(), id_, this);
  if (!socket_) return kit_.udp().lacked_descriptors() ? UpstreamError::local : UpstreamError::network;
  if (!socket_->send(request.packet)) {
    leave_socket();
    return UpstreamError::network;
  }
  done_ = std::move(done);
  timeouts.start(timer_, request.timeout_ms, on_timeout, this);
  return std::nullopt;
}

void PooledUdpExchange::abandon() {
  leave_socket();
  timer_.stop();
  done_ = nullptr;
}

void PooledUdpExchange::on_datagram(std::span<uint8_t> packet) {
  auto result = judge_answer(packet, id_, *query_, kit_.counters());
  if (!result) {
    saw_mismatch_ = true;
    return;
  }
  finish(std::move(*result));
}

void PooledUdpExchange::on_socket_error() { finish(ExchangeResult::failed(UpstreamError::network)); }

void PooledUdpExchange::on_timeout(void* owner) {
  auto* self = static_cast<PooledUdpExchange*>(owner);
  if (self->grace_.wait_once_more(*self->timeouts_, self->timer_, on_timeout, self, self->kit_.counters())) return;
  self->finish(timed_out(self->saw_mismatch_));
}

void PooledUdpExchange::leave_socket() {
  if (socket_) socket_->detach(id_);
  socket_ = nullptr;
}

void PooledUdpExchange::finish(ExchangeResult&& result) {
  auto done = std::move(done_);
  abandon();
  done(std::move(result));  // may end the transaction that owns this object: nothing after this line
}

}  // namespace diresolver
