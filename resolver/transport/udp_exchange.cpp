#include "transport/udp_exchange.hpp"

namespace diresolver {

namespace {

sockaddr_storage any_address_like(const SockAddr& server) {
  sockaddr_storage any{};
  any.ss_family = static_cast<sa_family_t>(server.family());  // zero address, port 0
  return any;
}

}  // namespace

UdpExchange::UdpExchange(const ExchangeRequest& request, ExchangeDone done)
    : request_(request), id_(dns::id_of(request.packet)), done_(std::move(done)) {}

bool UdpExchange::start() {
  const auto& server = request_.server->address();
  if (uv_udp_init(request_.loop, socket_.get()) != 0) return false;
  socket_.adopt(this);
  auto any = any_address_like(server);
  if (uv_udp_bind(socket_.get(), reinterpret_cast<const sockaddr*>(&any), 0) != 0) return false;
  if (uv_udp_connect(socket_.get(), server.get()) != 0) return false;
  if (uv_udp_recv_start(socket_.get(), on_alloc, on_recv) != 0) return false;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(request_.packet.data())),
                             static_cast<unsigned>(request_.packet.size()));
  if (uv_udp_try_send(socket_.get(), &buf, 1, nullptr) < 0) return false;
  if (uv_timer_init(request_.loop, timer_.get()) != 0) return false;
  timer_.adopt(this);
  uv_timer_start(timer_.get(), on_timeout, request_.timeout_ms, 0);
  return true;
}

void UdpExchange::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpExchange>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  auto& scratch = *self->request_.scratch;
  *buf = uv_buf_init(reinterpret_cast<char*>(scratch.data()), static_cast<unsigned>(scratch.size()));
}

void UdpExchange::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                          unsigned) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpExchange>(handle);
  if (!self) return;
  if (nread < 0) {
    // On a connected socket an ICMP port-unreachable arrives here: the server is not listening.
    self->request_.counters->upstream_network.inc();
    self->finish({false, UpstreamError::network, {}});
    return;
  }
  if (nread == 0 || !from) return;
  self->receive({reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(nread)}, from);
}

void UdpExchange::receive(std::span<uint8_t> packet, const sockaddr* from) {
  auto source = SockAddr::from_sockaddr(from);
  std::optional<ExchangeResult> result;
  if (source && *source == request_.server->address()) result = judge_answer(packet, id_, request_);
  else request_.counters->upstream_mismatched.inc();
  if (!result) {
    saw_mismatch_ = true;
    return;
  }
  finish(std::move(*result));
}

void UdpExchange::on_timeout(uv_timer_t* timer) {
  auto* self = uv::Handle<uv_timer_t>::owner_of<UdpExchange>(timer);
  if (!self) return;
  self->finish(timed_out(self->request_, self->saw_mismatch_));
}

void UdpExchange::finish(ExchangeResult&& result) {
  socket_.close();
  timer_.close();
  auto done = std::move(done_);
  done(std::move(result));  // may retire this exchange: nothing after this line
}

}  // namespace diresolver
