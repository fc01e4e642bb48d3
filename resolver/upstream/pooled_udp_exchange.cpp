#include "upstream/pooled_udp_exchange.hpp"

namespace diresolver {

PooledUdpExchange::PooledUdpExchange(uv_loop_t* loop, UdpSocketPool& pool) : pool_(pool) {
  if (uv_timer_init(loop, timer_.get()) == 0) timer_.adopt(this);
}

void PooledUdpExchange::prepare(const ExchangeRequest& request, ExchangeDone done) {
  request_ = request;
  id_ = dns::id_of(request.packet);
  done_ = std::move(done);
  saw_mismatch_ = false;
}

bool PooledUdpExchange::start() {
  const auto& server = *request_.server;
  if (!timer_.is_open()) return false;
  socket_ = pool_.attach(server.id(), server.address(), id_, this);
  if (!socket_ || !socket_->send(request_.packet)) {
    leave_socket();
    return false;
  }
  uv_timer_start(timer_.get(), on_timeout, request_.timeout_ms, 0);
  return true;
}

void PooledUdpExchange::abandon() {
  leave_socket();
  if (timer_.is_open()) uv_timer_stop(timer_.get());
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

void PooledUdpExchange::on_timeout(uv_timer_t* timer) {
  auto* self = uv::Handle<uv_timer_t>::owner_of<PooledUdpExchange>(timer);
  if (!self) return;
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
