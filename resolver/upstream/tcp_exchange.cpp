#include "upstream/tcp_exchange.hpp"

#include <memory>

#include "dns/response.hpp"
#include "uv/write.hpp"

namespace diresolver {

TcpExchange::TcpExchange(const ExchangeRequest& request, ExchangeDone done)
    : request_(request),
      packet_(request.packet.begin(), request.packet.end()),
      done_(std::move(done)) {}

bool TcpExchange::start() {
  if (uv_tcp_init(request_.loop, socket_.get()) != 0) return false;
  socket_.adopt(this);
  if (uv_timer_init(request_.loop, timer_.get()) != 0) return false;
  timer_.adopt(this);
  // The request is freed by its callback, which libuv also calls (ECANCELED) on close.
  auto connect = std::make_unique<uv_connect_t>();
  if (uv_tcp_connect(connect.get(), socket_.get(), request_.server->address.get(), on_connect) != 0)
    return false;
  (void)connect.release();
  uv_timer_start(timer_.get(), on_timeout, request_.timeout_ms, 0);
  return true;
}

void TcpExchange::on_connect(uv_connect_t* req, int status) {
  std::unique_ptr<uv_connect_t> owned(req);
  auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpExchange>(req->handle);
  if (!self) return;
  if (status != 0) return self->fail(UpstreamError::network);
  self->connected();
}

void TcpExchange::connected() {
  auto* stream = reinterpret_cast<uv_stream_t*>(socket_.get());
  if (!uv::write_framed(stream, packet_.data(), packet_.size()) ||
      uv_read_start(stream, on_alloc, on_read) != 0)
    return fail(UpstreamError::network);
}

void TcpExchange::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpExchange>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  auto& scratch = *self->request_.scratch;
  *buf = uv_buf_init(reinterpret_cast<char*>(scratch.data()), static_cast<unsigned>(scratch.size()));
}

void TcpExchange::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpExchange>(stream);
  if (!self || nread == 0) return;
  if (nread < 0) return self->fail(UpstreamError::network);
  auto* data = reinterpret_cast<const uint8_t*>(buf->base);
  self->received_.insert(self->received_.end(), data, data + nread);
  self->take_messages();
}

void TcpExchange::take_messages() {
  while (received_.size() >= 2) {
    size_t length = dns::read_u16(received_.data());
    if (received_.size() < 2 + length) return;
    dns::Bytes message(received_.data() + 2, length);
    auto verdict = dns::check_upstream_answer(message, dns::id_of(packet_), *request_.query);
    if (verdict == dns::AnswerCheck::ok)
      return finish({true, UpstreamError::timeout, std::vector<uint8_t>(message.begin(), message.end())});
    if (verdict == dns::AnswerCheck::malformed) {
      request_.counters->upstream_malformed.inc();
      return fail(UpstreamError::malformed);
    }
    request_.counters->upstream_mismatched.inc();
    received_.erase(received_.begin(), received_.begin() + 2 + static_cast<long>(length));
  }
}

void TcpExchange::on_timeout(uv_timer_t* timer) {
  auto* self = uv::Handle<uv_timer_t>::owner_of<TcpExchange>(timer);
  if (!self) return;
  self->request_.counters->upstream_timeouts.inc();
  self->finish({false, UpstreamError::timeout, {}});
}

void TcpExchange::fail(UpstreamError error) {
  if (error == UpstreamError::network) request_.counters->upstream_network.inc();
  finish({false, error, {}});
}

void TcpExchange::finish(ExchangeResult&& result) {
  socket_.close();
  timer_.close();
  auto done = std::move(done_);
  done(std::move(result));  // may retire this exchange: nothing after this line
}

}  // namespace diresolver
