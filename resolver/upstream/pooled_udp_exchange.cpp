#include "upstream/pooled_udp_exchange.hpp"

namespace diresolver {

PooledUdpExchange::PooledUdpExchange(const ExchangeRequest& request, UdpSocketPool& pool, ExchangeDone done)
    : request_(request), pool_(pool), id_(dns::id_of(request.packet)), done_(std::move(done)) {}

bool PooledUdpExchange::start() {
  const auto& server = *request_.server;
  socket_ = pool_.attach(server.id(), server.address(), id_, this);
  if (!socket_ || !socket_->send(request_.packet)) return false;  // the destructor leaves the socket
  if (uv_timer_init(request_.loop, timer_.get()) != 0) return false;
  timer_.adopt(this);
  uv_timer_start(timer_.get(), on_timeout, request_.timeout_ms, 0);
  return true;
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
  leave_socket();
  timer_.close();
  auto done = std::move(done_);
  done(std::move(result));  // may retire this exchange: nothing after this line
}

}  // namespace diresolver
