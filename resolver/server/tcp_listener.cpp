#include "server/tcp_listener.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

#include "net/fd_limit.hpp"
#include "server/query_handler.hpp"
#include "uv/boundary.hpp"
#include "uv/write.hpp"

namespace diresolver {

TcpListener::TcpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters,
                         const ServerSettings& settings)
    : loop_(loop),
      handler_(handler),
      counters_(counters),
      idle_timeout_ms_(settings.tcp_idle_timeout_ms),
      max_connections_(settings.tcp_max_connections),
      max_per_client_(settings.tcp_max_connections_per_client),
      fd_reserve_(settings.fd_reserve),
      listen_fd_(std::move(fd)),
      read_buffer_(65536 + 2) {
  // The socket is already listening (and non-blocking); the poll handle only watches it.
  if (uv_poll_init_socket(loop, poll_.get(), listen_fd_.get()) != 0) throw std::runtime_error("uv_poll_init failed");
  poll_.adopt(this);
  if (uv_timer_init(loop, pause_.get()) != 0) throw std::runtime_error("uv_timer_init failed");
  pause_.adopt(this);
  if (uv_poll_start(poll_.get(), UV_READABLE, on_readable) != 0) throw std::runtime_error("uv_poll_start failed");
}

void TcpListener::on_readable(uv_poll_t* poll, int status, int) noexcept {
  uv::at_boundary("TcpListener::on_readable", [&] {
    auto* self = uv::Handle<uv_poll_t>::owner_of<TcpListener>(poll);
    if (!self) return;
    if (status != 0) return self->pause_accepting(status);
    self->accept_pending();
  });
}

void TcpListener::on_pause_over(uv_timer_t* timer) noexcept {
  uv::at_boundary("TcpListener::on_pause_over", [&] {
    auto* self = uv::Handle<uv_timer_t>::owner_of<TcpListener>(timer);
    if (self && self->poll_.is_open()) uv_poll_start(self->poll_.get(), UV_READABLE, on_readable);
  });
}

void TcpListener::accept_pending() {
  for (unsigned accepted = 0; accepted < accepts_per_turn && poll_.is_open(); ++accepted) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(SocketFd(fd), peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;  // that client gave up; others may wait
    if (errno != EAGAIN && errno != EWOULDBLOCK) pause_accepting(-errno);
    return;
  }
}

// Waiting clients stay in the kernel's backlog until the pause is over.
void TcpListener::pause_accepting(int error) {
  if (fd_limit::is_shortage(error)) {
    counters_.fd_exhausted.inc();
    fd_limit::report("client TCP connections wait to be accepted");
  }
  uv_poll_stop(poll_.get());
  uv_timer_start(pause_.get(), on_pause_over, pause_ms, 0);
}

void TcpListener::admit(SocketFd fd, const sockaddr_storage& peer_storage) {
  auto peer = SockAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(&peer_storage));
  if (!peer || !may_admit(fd.get(), *peer)) return;  // closed as `fd` goes
  auto connection = std::make_shared<TcpConnection>(loop_, *this, *peer);
  if (!connection->open(std::move(fd))) return connection->close();
  ++per_client_[peer->host_string()];
  counters_.tcp_connections.inc();
  connections_.emplace(connection.get(), connection);
}

bool TcpListener::may_admit(int fd, const SockAddr& peer) {
  if (fd_limit::in_reserve(fd, fd_reserve_)) {
    counters_.tcp_rejected_fds.inc();
    counters_.fd_exhausted.inc();
    fd_limit::report("client TCP connections closed at once, keeping server.fd_reserve for upstream sockets");
    return false;
  }
  if (connections_.size() >= max_connections_) {
    counters_.tcp_rejected.inc();
    return false;
  }
  auto client = per_client_.find(peer.host_string());
  if (client != per_client_.end() && client->second >= max_per_client_) {
    counters_.tcp_rejected_per_client.inc();
    return false;
  }
  return true;
}

void TcpListener::forget(TcpConnection* connection, const SockAddr& peer) {
  if (!connections_.erase(connection)) return;
  counters_.tcp_closed.inc();
  auto client = per_client_.find(peer.host_string());
  if (client != per_client_.end() && --client->second == 0) per_client_.erase(client);
}

// The poll handle lets go of the socket at once (uv_close stops it), so the socket may close after it.
void TcpListener::close() {
  poll_.close();
  pause_.close();
  listen_fd_ = SocketFd();
  std::vector<std::shared_ptr<TcpConnection>> open;
  for (auto& [raw, connection] : connections_) open.push_back(connection);
  for (auto& connection : open) connection->close();
}

TcpConnection::TcpConnection(uv_loop_t* loop, TcpListener& listener, const SockAddr& peer)
    : listener_(listener), peer_(peer) {
  if (uv_tcp_init(loop, socket_.get()) == 0) socket_.adopt(this);
  if (uv_timer_init(loop, idle_.get()) == 0) idle_.adopt(this);
}

bool TcpConnection::open(SocketFd fd) {
  auto* stream = reinterpret_cast<uv_stream_t*>(socket_.get());
  if (!socket_.is_open() || !idle_.is_open() || uv_tcp_open(socket_.get(), fd.get()) != 0) return false;
  (void)fd.release();  // the handle closes it now
  if (uv_read_start(stream, on_alloc, on_read) != 0) return false;
  reading_ = true;
  touch();
  return true;
}

void TcpConnection::touch() {
  if (!closed_) uv_timer_start(idle_.get(), on_idle, listener_.idle_timeout_ms_, 0);
}

void TcpConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpConnection>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  auto& scratch = self->listener_.read_buffer_;
  *buf = uv_buf_init(reinterpret_cast<char*>(scratch.data()), static_cast<unsigned>(scratch.size()));
}

void TcpConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  uv::at_boundary("TcpConnection::on_read", [&] {
    auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpConnection>(stream);
    if (!self || nread == 0) return;
    if (nread < 0) return self->close();  // EOF or reset
    auto* data = reinterpret_cast<const uint8_t*>(buf->base);
    self->pending_.insert(self->pending_.end(), data, data + nread);
    self->take_messages();
  });
}

// Partial messages do not count as traffic: a client trickling bytes is idle.
void TcpConnection::take_messages() {
  if (taking_) return;             // an answer sent from inside the loop below resumed reading
  auto self = shared_from_this();  // a handler may close us; stay alive until we return
  taking_ = true;
  size_t offset = 0;
  // reading_ falls when an answer sent from inside the loop fills the write queue.
  while (!closed_ && reading_ && in_flight_ < max_in_flight && pending_.size() - offset >= 2) {
    size_t length = dns::read_u16(pending_.data() + offset);
    if (pending_.size() - offset < 2 + length) break;
    dns::Bytes message(pending_.data() + offset + 2, length);
    offset += 2 + length;
    touch();
    ++in_flight_;
    if (!listener_.handler_.handle(message, Client{peer_, nullptr, self})) --in_flight_;  // dropped unanswered
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(offset));
  taking_ = false;
  update_reading();
}

void TcpConnection::update_reading() {
  if (closed_) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(socket_.get());
  bool may_read = in_flight_ < max_in_flight && held_bytes() < max_unsent_bytes;
  if (may_read == reading_) return;
  reading_ = may_read;
  if (!may_read) {
    listener_.counters_.tcp_paused.inc();
    uv_read_stop(stream);
    return;
  }
  if (uv_read_start(stream, on_alloc, on_read) != 0) return close();
  take_messages();  // whole queries read before the pause
}

// A client reading its answers, however slowly, is not idle.
void TcpConnection::on_written(uv_stream_t* stream) noexcept {
  uv::at_boundary("TcpConnection::on_written", [&] {
    auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpConnection>(stream);
    if (!self) return;
    self->touch();
    self->update_reading();
  });
}

void TcpConnection::on_idle(uv_timer_t* timer) noexcept {
  uv::at_boundary("TcpConnection::on_idle", [&] {
    auto* self = uv::Handle<uv_timer_t>::owner_of<TcpConnection>(timer);
    if (self) self->close();
  });
}

void TcpConnection::send(dns::Bytes answer) {
  if (in_flight_ > 0) --in_flight_;
  if (closed_) return;
  // Past 65535 the length prefix would wrap and desynchronise the stream (dns::finish_answer keeps ours within).
  if (answer.size() > 0xffff) return listener_.counters_.send_failures.inc();
  if (held_bytes() + answer.size() > max_held_bytes) {
    listener_.counters_.tcp_unread_closed.inc();
    return close();  // the client will not read what it asked for; it may connect again
  }
  if (!uv::write_framed(reinterpret_cast<uv_stream_t*>(socket_.get()), answer.data(), answer.size(), on_written))
    listener_.counters_.send_failures.inc();
  touch();
  update_reading();
}

// Everything kept for this client: queries read but not taken, answers not yet written to the kernel.
size_t TcpConnection::held_bytes() const {
  return pending_.size() + uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(socket_.get()));
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();
  socket_.close();
  idle_.close();
  listener_.forget(this, peer_);
}

}  // namespace diresolver
