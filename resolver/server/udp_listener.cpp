#include "server/udp_listener.hpp"

#include <cerrno>
#include <stdexcept>

#include "metrics/counters.hpp"
#include "server/query_handler.hpp"
#include "uv/boundary.hpp"

namespace diresolver {

UdpListener::UdpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters)
    : handler_(handler),
      counters_(counters),
      read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(read_batch * slice)),
      end_of_turn_(
          loop, [](void* self) { static_cast<UdpListener*>(self)->flush(); }, this) {
  if (uv_udp_init_ex(loop, socket_.get(), AF_UNSPEC | UV_UDP_RECVMMSG) != 0)
    throw std::runtime_error("uv_udp_init_ex failed");
  socket_.adopt(this);
  if (uv_udp_open(socket_.get(), fd.get()) != 0) throw std::runtime_error("uv_udp_open failed");
  fd_ = fd.release();  // libuv closes it with the handle
  if (uv_udp_recv_start(socket_.get(), on_alloc, on_recv) != 0) throw std::runtime_error("uv_udp_recv_start failed");
}

void UdpListener::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->read_buffer_.get()), static_cast<unsigned>(read_batch * slice));
}

void UdpListener::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                          unsigned flags) noexcept {
  uv::at_boundary("UdpListener::on_recv", [&] {
    auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
    if (self) self->receive(nread, buf, from, flags);
  });
}

// libuv calls back once per datagram of a recvmmsg batch (UV_UDP_MMSG_CHUNK),
// then once more without one (UV_UDP_MMSG_FREE).
void UdpListener::receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned flags) {
  if (nread <= 0 || !from) return;
  auto client = SockAddr::from_sockaddr(from);
  if (!client || (flags & UV_UDP_PARTIAL)) {
    counters_.malformed.inc();
    return;
  }
  dns::Bytes packet(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  handler_.handle(packet, Client{*client, this, nullptr});
}

void UdpListener::close() {
  if (socket_.is_open()) flush();
  end_of_turn_.close();
  socket_.close();
}

void UdpListener::send(const SockAddr& to, dns::Bytes answer) {
  if (!socket_.is_open()) return;
  if (!answers_.add(answer, &to)) {
    flush();
    if (!answers_.add(answer, &to)) return send_now(to, answer);  // bigger than a whole batch
  }
  if (answers_.full() || !end_of_turn_.arm()) flush();
}

void UdpListener::flush() {
  if (answers_.empty()) return;
  auto outcome = answers_.flush(fd_);
  counters_.send_failures.store_add(outcome.failed);
  if (outcome.sent > 1) counters_.udp_batched_answers.store_add(outcome.sent);
}

void UdpListener::send_now(const SockAddr& to, dns::Bytes answer) {
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(answer.data())),
                             static_cast<unsigned>(answer.size()));
  if (uv_udp_try_send(socket_.get(), &buf, 1, to.get()) < 0) counters_.send_failures.inc();
}

}  // namespace diresolver
