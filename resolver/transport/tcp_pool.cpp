#include "transport/tcp_pool.hpp"

#include <algorithm>

#include "net/fd_limit.hpp"
#include "uv/boundary.hpp"
#include "uv/write.hpp"

namespace diresolver {

namespace {
constexpr int64_t first_backoff_ms = 100;
constexpr int64_t max_backoff_ms = 5000;
}  // namespace

UpstreamConnection::UpstreamConnection(TcpPool& pool, const Upstream& server)
    : pool_(pool), server_id_(server.id()), address_(server.address()) {}

// Until connected, the idle timer bounds the connect: a server that neither
// accepts nor refuses must not hold its queries (and a socket) until they time out.
int UpstreamConnection::open() {
  if (int error = uv_tcp_init(pool_.loop_, socket_.get())) return error;
  socket_.adopt(this);
  if (int error = uv_timer_init(pool_.loop_, idle_.get())) return error;
  idle_.adopt(this);
  // Freed by its callback, which libuv also calls (ECANCELED) when we close first.
  auto connect = std::make_unique<uv_connect_t>();
  if (int error = uv_tcp_connect(connect.get(), socket_.get(), address_.get(), on_connect)) return error;
  (void)connect.release();
  uv_tcp_nodelay(socket_.get(), 1);
  uv_timer_start(idle_.get(), on_idle, pool_.connect_timeout_ms_, 0);
  pool_.counters_.servers[server_id_].tcp_connects.inc();
  return 0;
}

void UpstreamConnection::on_connect(uv_connect_t* req, int status) noexcept {
  uv::at_boundary("UpstreamConnection::on_connect", [&] {
    std::unique_ptr<uv_connect_t> owned(req);
    auto* self = uv::Handle<uv_tcp_t>::owner_of<UpstreamConnection>(req->handle);
    if (!self) return;
    if (status != 0) {
      self->pool_.connect_failed(self);
      return self->close();
    }
    self->connected();
  });
}

void UpstreamConnection::connected() {
  connected_ = true;
  pool_.connect_succeeded(this);
  update_idle_timer();
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(socket_.get()), on_alloc, on_read) != 0) return close();
  auto unsent = std::move(unsent_);
  for (const auto& packet : unsent)
    if (!closed_ && !write(packet)) close();  // fails every waiter, so the rest are not written
}

SubmitResult UpstreamConnection::submit(dns::Bytes packet, PendingAnswer* waiter) {
  if (closed_) return SubmitResult::unavailable;
  auto [it, inserted] = pending_.emplace(dns::id_of(packet), waiter);
  if (!inserted) return SubmitResult::id_in_use;
  if (connected_ && !write(packet)) {
    pending_.erase(it);  // the caller learns it from the result, not from a callback while it submits
    close();
    return SubmitResult::unavailable;
  }
  if (!connected_) unsent_.emplace_back(packet.begin(), packet.end());
  update_idle_timer();
  return SubmitResult::sent;
}

bool UpstreamConnection::write(dns::Bytes packet) {
  return uv::write_framed(reinterpret_cast<uv_stream_t*>(socket_.get()), packet.data(), packet.size());
}

void UpstreamConnection::cancel(uint16_t id, PendingAnswer* waiter) {
  auto it = pending_.find(id);
  if (it != pending_.end() && it->second == waiter) pending_.erase(it);
  update_idle_timer();
}

void UpstreamConnection::update_idle_timer() {
  if (closed_ || !idle_.is_open() || !connected_) return;
  if (pending_.empty())
    uv_timer_start(idle_.get(), on_idle, pool_.idle_ms_, 0);
  else
    uv_timer_stop(idle_.get());
}

void UpstreamConnection::on_idle(uv_timer_t* timer) noexcept {
  uv::at_boundary("UpstreamConnection::on_idle", [&] {
    auto* self = uv::Handle<uv_timer_t>::owner_of<UpstreamConnection>(timer);
    if (!self) return;
    if (!self->connected_) {
      self->pool_.counters_.servers[self->server_id_].tcp_connect_timeouts.inc();
      self->pool_.connect_failed(self);
      return self->close();
    }
    if (self->pending_.empty()) self->close();
  });
}

void UpstreamConnection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* self = uv::Handle<uv_tcp_t>::owner_of<UpstreamConnection>(handle);
  if (!self) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  auto& scratch = self->pool_.scratch_;
  *buf = uv_buf_init(reinterpret_cast<char*>(scratch.data()), static_cast<unsigned>(scratch.size()));
}

void UpstreamConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  uv::at_boundary("UpstreamConnection::on_read", [&] {
    auto* self = uv::Handle<uv_tcp_t>::owner_of<UpstreamConnection>(stream);
    if (!self || nread == 0) return;
    if (nread < 0) return self->close();  // the server closed or reset: fail what waits
    auto* data = reinterpret_cast<const uint8_t*>(buf->base);
    self->received_.insert(self->received_.end(), data, data + nread);
    self->take_messages();
  });
}

void UpstreamConnection::take_messages() {
  size_t offset = 0;
  while (!closed_ && received_.size() - offset >= 2) {
    size_t length = dns::read_u16(received_.data() + offset);
    if (received_.size() - offset < 2 + length) break;
    dispatch(dns::Bytes(received_.data() + offset + 2, length));
    offset += 2 + length;
  }
  if (!closed_) received_.erase(received_.begin(), received_.begin() + static_cast<long>(offset));
}

void UpstreamConnection::dispatch(dns::Bytes message) {
  if (message.size() < dns::header_size) return;
  auto it = pending_.find(dns::id_of(message));
  if (it == pending_.end()) {
    pool_.counters_.upstream_mismatched.inc();
    return;
  }
  PendingAnswer* waiter = it->second;
  pending_.erase(it);
  if (!waiter->on_answer(message)) pending_.emplace(dns::id_of(message), waiter);
  update_idle_timer();
}

void UpstreamConnection::close() {
  if (closed_) return;
  closed_ = true;
  socket_.close();
  idle_.close();
  auto waiting = std::move(pending_);
  pending_.clear();
  pool_.closed(this);  // buries us; still alive until the loop's next check phase
  for (auto& [id, waiter] : waiting) waiter->on_connection_failed();
}

TcpPool::TcpPool(uv_loop_t* loop, uint32_t idle_ms, uint32_t connect_timeout_ms, WorkerCounters& counters,
                 std::vector<uint8_t>& scratch)
    : loop_(loop),
      idle_ms_(idle_ms),
      connect_timeout_ms_(connect_timeout_ms),
      counters_(counters),
      scratch_(scratch),
      graveyard_(loop) {}

TcpPool::~TcpPool() { close_all(); }

SubmitResult TcpPool::submit(const Upstream& server, dns::Bytes packet, PendingAnswer* waiter) {
  auto& slot = slot_for(server);
  if (!slot.connection) {
    if (monotonic_ms() < slot.retry_at_ms) return SubmitResult::unavailable;
    slot.connection = std::make_unique<UpstreamConnection>(*this, server);
    if (int error = slot.connection->open()) return open_failed(slot, error);
  }
  return slot.connection->submit(packet, waiter);
}

SubmitResult TcpPool::open_failed(ServerSlot& slot, int error) {
  bool lacked_descriptors = fd_limit::is_shortage(error);
  if (lacked_descriptors) {
    counters_.fd_exhausted.inc();
    fd_limit::report("an upstream TCP connection could not be opened");
  } else {
    connect_failed(slot.connection.get());
  }
  slot.connection->close();
  return lacked_descriptors ? SubmitResult::no_descriptors : SubmitResult::unavailable;
}

// A reload gave the id to another server: the old address's connection and backoff leave the slot.
TcpPool::ServerSlot& TcpPool::slot_for(const Upstream& server) {
  auto& slot = slots_[server.id()];
  if (slot.address == server.address()) return slot;
  retire(std::move(slot.connection));
  slot = ServerSlot{server.address(), nullptr, 0, 0};
  return slot;
}

// Queries still waiting there get their answers; then it idles out. Closed at
// once only when nobody waits, so no waiter is called back from in here.
void TcpPool::retire(std::unique_ptr<UpstreamConnection> connection) {
  if (!connection) return;
  retired_.push_back(std::move(connection));
  if (retired_.back()->idle()) retired_.back()->close();
}

TcpPool::ServerSlot* TcpPool::slot_of(UpstreamConnection* connection) {
  auto it = slots_.find(connection->server_id());
  return it != slots_.end() && it->second.connection.get() == connection ? &it->second : nullptr;
}

void TcpPool::cancel(const Upstream& server, uint16_t id, PendingAnswer* waiter) {
  auto it = slots_.find(server.id());
  if (it != slots_.end() && it->second.connection) it->second.connection->cancel(id, waiter);
  for (auto& connection : retired_) connection->cancel(id, waiter);  // only its own waiter is removed
}

// A connect failure's backoff goes too: the caller wants to see a new connection tried now.
void TcpPool::reconnect(const Upstream& server) {
  auto it = slots_.find(server.id());
  if (it == slots_.end()) return;
  retire(std::move(it->second.connection));
  it->second.backoff_ms = it->second.retry_at_ms = 0;
}

void TcpPool::connect_failed(UpstreamConnection* connection) {
  auto* slot = slot_of(connection);
  if (!slot) return;
  slot->backoff_ms = std::clamp(slot->backoff_ms * 2, first_backoff_ms, max_backoff_ms);
  slot->retry_at_ms = monotonic_ms() + slot->backoff_ms;
}

void TcpPool::connect_succeeded(UpstreamConnection* connection) {
  if (auto* slot = slot_of(connection)) slot->backoff_ms = 0;
}

void TcpPool::closed(UpstreamConnection* connection) {
  if (auto* slot = slot_of(connection)) return graveyard_.bury(std::move(slot->connection));
  auto it = std::find_if(retired_.begin(), retired_.end(), [connection](auto& c) { return c.get() == connection; });
  if (it == retired_.end()) return;
  graveyard_.bury(std::move(*it));
  retired_.erase(it);
}

void TcpPool::close_all() {
  std::vector<UpstreamConnection*> open;
  for (auto& [id, slot] : slots_)
    if (slot.connection) open.push_back(slot.connection.get());
  for (auto& connection : retired_) open.push_back(connection.get());
  for (auto* connection : open) connection->close();
  graveyard_.close();
}

}  // namespace diresolver
