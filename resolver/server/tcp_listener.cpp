#include "server/tcp_listener.hpp"

#include <stdexcept>

#include "server/query_handler.hpp"
#include "uv/boundary.hpp"
#include "uv/write.hpp"

namespace diresolver {

TcpListener::TcpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters,
                         uint32_t idle_timeout_ms, unsigned max_connections)
    : loop_(loop),
      handler_(handler),
      counters_(counters),
      idle_timeout_ms_(idle_timeout_ms),
      max_connections_(max_connections),
      read_buffer_(65536 + 2) {
  if (uv_tcp_init(loop, socket_.get()) != 0) throw std::runtime_error("uv_tcp_init failed");
  socket_.adopt(this);
  if (uv_tcp_open(socket_.get(), fd.get()) != 0) throw std::runtime_error("uv_tcp_open failed");
  (void)fd.release();
  // The socket is already listening; uv_listen only registers the callback.
  if (uv_listen(reinterpret_cast<uv_stream_t*>(socket_.get()), 1024, on_connection) != 0)
    throw std::runtime_error("uv_listen failed");
}

void TcpListener::on_connection(uv_stream_t* server, int status) noexcept {
  uv::at_boundary("TcpListener::on_connection", [&] {
    auto* self = uv::Handle<uv_tcp_t>::owner_of<TcpListener>(server);
    if (!self || status != 0) return;
    self->accept_one();
  });
}

void TcpListener::accept_one() {
  auto connection = std::make_shared<TcpConnection>(loop_, *this);
  if (!connection->accept(reinterpret_cast<uv_stream_t*>(socket_.get()))) return;
  if (connections_.size() >= max_connections_) {
    counters_.tcp_rejected.inc();
    connection->close();
    return;
  }
  counters_.tcp_connections.inc();
  connections_.emplace(connection.get(), connection);
}

void TcpListener::forget(TcpConnection* connection) {
  if (connections_.erase(connection)) counters_.tcp_closed.inc();
}

void TcpListener::close() {
  socket_.close();
  std::vector<std::shared_ptr<TcpConnection>> open;
  for (auto& [raw, connection] : connections_) open.push_back(connection);
  for (auto& connection : open) connection->close();
}

TcpConnection::TcpConnection(uv_loop_t* loop, TcpListener& listener) : listener_(listener) {
  if (uv_tcp_init(loop, socket_.get()) == 0) socket_.adopt(this);
  if (uv_timer_init(loop, idle_.get()) == 0) idle_.adopt(this);
}

bool TcpConnection::accept(uv_stream_t* server) {
  auto* stream = reinterpret_cast<uv_stream_t*>(socket_.get());
  if (!socket_.is_open() || !idle_.is_open() || uv_accept(server, stream) != 0) return false;
  sockaddr_storage peer{};
  int length = sizeof peer;
  uv_tcp_getpeername(socket_.get(), reinterpret_cast<sockaddr*>(&peer), &length);
  auto address = SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&peer));
  if (!address || uv_read_start(stream, on_alloc, on_read) != 0) return false;
  reading_ = true;
  peer_ = *address;
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
  bool may_read = in_flight_ < max_in_flight && uv_stream_get_write_queue_size(stream) < max_unsent_bytes;
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
  if (!uv::write_framed(reinterpret_cast<uv_stream_t*>(socket_.get()), answer.data(), answer.size(), on_written))
    listener_.counters_.send_failures.inc();
  touch();
  update_reading();
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  auto self = shared_from_this();
  socket_.close();
  idle_.close();
  listener_.forget(this);
}

}  // namespace diresolver
