#include "server/udp_listener.hpp"

#include <stdexcept>

#include "server/query_handler.hpp"

namespace diresolver {

UdpListener::UdpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters)
    : handler_(handler), counters_(counters), buffer_(65536) {
  if (uv_udp_init(loop, socket_.get()) != 0) throw std::runtime_error("uv_udp_init failed");
  socket_.adopt(this);
  if (uv_udp_open(socket_.get(), fd.get()) != 0) throw std::runtime_error("uv_udp_open failed");
  (void)fd.release();  // libuv closes it with the handle
  if (uv_udp_recv_start(socket_.get(), on_alloc, on_recv) != 0)
    throw std::runtime_error("uv_udp_recv_start failed");
}

void UdpListener::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->buffer_.data()),
                     static_cast<unsigned>(self->buffer_.size()));
}

void UdpListener::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                          unsigned flags) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
  if (!self || nread <= 0 || !from) return;
  auto client = SockAddr::from_sockaddr(from);
  if (!client || (flags & UV_UDP_PARTIAL)) {
    self->counters_.malformed.inc();
    return;
  }
  dns::Bytes packet(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  self->handler_.handle(packet, Client{*client, self, nullptr});
}

void UdpListener::send(const SockAddr& to, dns::Bytes answer) {
  if (!socket_.is_open()) return;
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(answer.data())),
                             static_cast<unsigned>(answer.size()));
  if (uv_udp_try_send(socket_.get(), &buf, 1, to.get()) < 0) counters_.send_failures.inc();
}

}  // namespace diresolver
