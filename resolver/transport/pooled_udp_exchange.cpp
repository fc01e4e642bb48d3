#include "transport/pooled_udp_exchange.hpp"

namespace diresolver {

PooledUdpExchange::PooledUdpExchange(ForwardTimers& timers, UdpSocketPool& pool) : timers_(timers), pool_(pool) {}

void PooledUdpExchange::prepare(const ExchangeRequest& request, ExchangeDone done) {
  request_ = request;
  id_ = dns::id_of(request.packet);
  done_ = std::move(done);
  saw_mismatch_ = false;
}

bool PooledUdpExchange::start() {
  const auto& server = *request_.server;
  auto& timeouts = timers_.attempts_to(server);
  if (!timeouts.is_open()) return false;  // shutting down: an attempt without a timeout could wait forever
  socket_ = pool_.attach(server.id(), server.address(), id_, this);
  if (!socket_ || !socket_->send(request_.packet)) {
    leave_socket();
    return false;
  }
  timeouts.start(timer_, request_.timeout_ms, on_timeout, this);
  return true;
}

void PooledUdpExchange::abandon() {
  leave_socket();
  timer_.stop();
  done_ = nullptr;
}

void PooledUdpExchange::on_datagram(std::span<uint8_t> packet) {
  auto result = judge_answer(packet, id_, request_);
  if (!result) {
    saw_mismatch_ = true;
    return;
  }
  finish(std::move(*result));
}

void PooledUdpExchange::on_socket_error() {
  request_.counters->upstream_network.inc();
  finish({false, UpstreamError::network, {}});
}

void PooledUdpExchange::on_timeout(void* owner) {
  auto* self = static_cast<PooledUdpExchange*>(owner);
  self->finish(timed_out(self->request_, self->saw_mismatch_));
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
