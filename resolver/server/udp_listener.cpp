#include "server/udp_listener.hpp"

#include <cerrno>
#include <stdexcept>

#include "metrics/counters.hpp"
#include "server/query_handler.hpp"

namespace diresolver {

UdpListener::UdpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters)
    : handler_(handler), counters_(counters),
      read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(read_batch * slice)) {
  answers_.reserve(read_batch * 1232);  // a batch of typical EDNS-sized answers, without growing
  if (uv_udp_init_ex(loop, socket_.get(), AF_UNSPEC | UV_UDP_RECVMMSG) != 0)
    throw std::runtime_error("uv_udp_init_ex failed");
  socket_.adopt(this);
  if (uv_udp_open(socket_.get(), fd.get()) != 0) throw std::runtime_error("uv_udp_open failed");
  fd_ = fd.release();  // libuv closes it with the handle
  if (uv_udp_recv_start(socket_.get(), on_alloc, on_recv) != 0)
    throw std::runtime_error("uv_udp_recv_start failed");
}

void UdpListener::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->read_buffer_.get()), static_cast<unsigned>(read_batch * slice));
}

void UdpListener::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                          unsigned flags) {
  auto* self = uv::Handle<uv_udp_t>::owner_of<UdpListener>(handle);
  if (self) self->receive(nread, buf, from, flags);
}

// libuv calls back once per datagram of a recvmmsg batch (UV_UDP_MMSG_CHUNK),
// then once more without one (UV_UDP_MMSG_FREE): that ends the batch.
void UdpListener::receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned flags) {
  if (!(flags & UV_UDP_MMSG_CHUNK)) flush();
  if (nread <= 0 || !from) return;
  auto client = SockAddr::from_sockaddr(from);
  if (!client || (flags & UV_UDP_PARTIAL)) {
    counters_.malformed.inc();
    return;
  }
  in_batch_ = flags & UV_UDP_MMSG_CHUNK;
  dns::Bytes packet(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  handler_.handle(packet, Client{*client, this, nullptr});
}

void UdpListener::close() {
  if (socket_.is_open()) flush();
  socket_.close();
}

void UdpListener::send(const SockAddr& to, dns::Bytes answer) {
  if (!socket_.is_open()) return;
  if (in_batch_ && gather(to, answer)) return;
  send_now(to, answer);
}

// Keeps the answer for the batch's sendmmsg; false if it does not fit.
bool UdpListener::gather(const SockAddr& to, dns::Bytes answer) {
  if (gathered_ == read_batch) flush();
  if (answers_.size() + answer.size() > answers_.capacity()) return false;  // never reallocate
  to_[gathered_] = to;
  answers_.insert(answers_.end(), answer.begin(), answer.end());
  offsets_[++gathered_] = answers_.size();
  return true;
}

void UdpListener::flush() {
  in_batch_ = false;
  if (gathered_ == 0) return;
  std::array<mmsghdr, read_batch> messages{};
  std::array<iovec, read_batch> parts{};
  for (size_t i = 0; i < gathered_; ++i) {
    parts[i] = {answers_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
    messages[i].msg_hdr.msg_name = const_cast<sockaddr*>(to_[i].get());
    messages[i].msg_hdr.msg_namelen = to_[i].length();
    messages[i].msg_hdr.msg_iov = &parts[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  for (size_t sent = 0; sent < gathered_;) {
    int n = sendmmsg(fd_, messages.data() + sent, static_cast<unsigned>(gathered_ - sent), 0);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      counters_.send_failures.inc();  // this one answer is lost; the rest still go
      ++sent;
    }
  }
  if (gathered_ > 1) counters_.udp_batched_answers.store_add(gathered_);
  gathered_ = 0;
  answers_.clear();
}

void UdpListener::send_now(const SockAddr& to, dns::Bytes answer) {
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(answer.data())),
                             static_cast<unsigned>(answer.size()));
  if (uv_udp_try_send(socket_.get(), &buf, 1, to.get()) < 0) counters_.send_failures.inc();
}

}  // namespace diresolver
