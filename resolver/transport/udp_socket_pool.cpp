#include "transport/udp_socket_pool.hpp"

#include <sys/socket.h>

#include <utility>
#include <vector>

#include "net/fd_limit.hpp"
#include "uv/boundary.hpp"

namespace diresolver {

PooledSocket::PooledSocket(UdpSocketPool& pool, unsigned server_id, const SockAddr& server, uint8_t* buffer,
                           size_t buffer_size)
    : pool_(pool), server_id_(server_id), buffer_(buffer), buffer_size_(buffer_size) {
  if (uv_udp_init_ex(pool.loop_, socket_.get(), AF_UNSPEC | UV_UDP_RECVMMSG) != 0) return;
  socket_.adopt(this);
  sockaddr_storage any{};
  any.ss_family = static_cast<sa_family_t>(server.family());  // any address, kernel-chosen random port
  // The bind creates the socket: where a shortage of descriptors shows.
  lacked_descriptors_ = fd_limit::is_shortage(uv_udp_bind(socket_.get(), reinterpret_cast<const sockaddr*>(&any), 0));
  open_ = !lacked_descriptors_ && uv_udp_connect(socket_.get(), server.get()) == 0 &&
          uv_udp_recv_start(socket_.get(), on_alloc, on_recv) == 0;
  uv_os_fd_t fd;
  if (open_ && uv_fileno(socket_.base(), &fd) == 0) fd_ = fd;
  open_ = open_ && fd_ >= 0;
}

// Only idle sockets are closed (or all, at shutdown): what it still kept has nobody waiting.
PooledSocket::~PooledSocket() { pool_.forget(this); }

bool PooledSocket::attach(uint16_t id, UdpWaiter* waiter) {
  if (!waiting_.insert(id, waiter)) return false;
  ++uses;
  return true;
}

// A full batch is written at once, but a refusal it meets is only noted: the
// caller is an attempt still starting, and the waiters (it among them) learn
// of it at the turn's end, when no socket can close under them.
bool PooledSocket::send(dns::Bytes packet) {
  if (!queries_.add(packet)) {
    refused_ |= write_queued();
    if (!queries_.add(packet) && ::send(fd_, packet.data(), packet.size(), MSG_DONTWAIT) < 0) return false;
  }
  if (!waiting_for_turn_end_) {
    waiting_for_turn_end_ = true;
    pool_.write_at_end_of_turn(this);
  }
  return true;
}

// A query the kernel refused is lost and its attempt times out (hedging covers
// it); a closed port (ECONNREFUSED) fails every query waiting here at once.
void PooledSocket::flush() {
  waiting_for_turn_end_ = false;
  bool refused = std::exchange(refused_, false) | write_queued();
  if (refused) fail_all();
}

bool PooledSocket::write_queued() {
  if (queries_.empty()) return false;
  auto outcome = queries_.flush(fd_);
  pool_.counters_.upstream_send_failures.store_add(outcome.failed);
  return outcome.refused;
}

void PooledSocket::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
  auto* self = uv::Handle<uv_udp_t>::owner_of<PooledSocket>(handle);
  *buf = self ? uv_buf_init(reinterpret_cast<char*>(self->buffer_), static_cast<unsigned>(self->buffer_size_))
              : uv_buf_init(nullptr, 0);
}

void PooledSocket::on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                           unsigned) noexcept {
  uv::at_boundary("PooledSocket::on_recv", [&] {
    auto* self = uv::Handle<uv_udp_t>::owner_of<PooledSocket>(handle);
    if (!self) return;
    if (nread < 0) return self->fail_all();
    if (nread == 0 || !from) return;
    std::span<uint8_t> packet(reinterpret_cast<uint8_t*>(buf->base), static_cast<size_t>(nread));
    auto* waiter = packet.size() >= dns::header_size ? self->waiting_.find(dns::id_of(packet)) : nullptr;
    if (!waiter) return self->count_unclaimed(packet);
    waiter->on_datagram(packet);
  });
}

// Nobody waits for it. An answer to an attempt that ended (it timed out, or
// another server answered first) is late: a slow or recovering server. Any
// other packet is spoofed or garbage.
void PooledSocket::count_unclaimed(std::span<const uint8_t> packet) {
  auto& counters = pool_.counters_;
  if (packet.size() >= dns::header_size && waiting_.left(dns::id_of(packet)))
    counters.servers[server_id_].late_answers.inc();
  else
    counters.upstream_mismatched.inc();
}

// The connected server said no (ICMP): every query waiting here learns it.
void PooledSocket::fail_all() {
  std::vector<UdpWaiter*> waiters;
  waiting_.for_each([&](UdpWaiter* waiter) { waiters.push_back(waiter); });
  for (auto* waiter : waiters) waiter->on_socket_error();  // each detaches itself
}

UdpSocketPool::UdpSocketPool(uv_loop_t* loop, WorkerCounters& counters)
    : loop_(loop),
      counters_(counters),
      read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(read_batch * slice)),
      end_of_turn_(
          loop, [](void* self) { static_cast<UdpSocketPool*>(self)->flush_all(); }, this) {}

void UdpSocketPool::write_at_end_of_turn(PooledSocket* socket) {
  unsent_.push_back(socket);
  if (!end_of_turn_.arm()) flush_all();
}

void UdpSocketPool::forget(PooledSocket* socket) { std::erase(unsent_, socket); }

// Failures found while writing end attempts, which may start others (their
// queries join this same pass): so no socket may close until it is done.
void UdpSocketPool::flush_all() {
  flushing_ = true;
  for (size_t i = 0; i < unsent_.size(); ++i) unsent_[i]->flush();
  unsent_.clear();
  flushing_ = false;
}

PooledSocket* UdpSocketPool::attach(unsigned server_id, const SockAddr& server, uint16_t id, UdpWaiter* waiter) {
  sweep();
  lacked_descriptors_ = false;
  auto& sockets = servers_[server_id];
  if (!(sockets.address == server)) {  // the id now names another server (a reload)
    for (auto& socket : sockets.active) retire(std::move(socket));
    sockets = ServerSockets{server, {}, 0};
  }
  auto* socket = pick(server_id, sockets, id);
  return socket && socket->attach(id, waiter) ? socket : nullptr;
}

// Round robin over the server's sockets, replacing worn-out ones.
PooledSocket* UdpSocketPool::pick(unsigned server_id, ServerSockets& sockets, uint16_t id) {
  for (size_t tried = 0; tried < sockets_per_server; ++tried) {
    size_t slot = sockets.next++ % sockets_per_server;
    if (slot >= sockets.active.size()) sockets.active.resize(slot + 1);
    auto& socket = sockets.active[slot];
    if (socket && (!socket->open() || socket->uses >= uses_per_socket)) retire(std::move(socket));
    if (!socket) socket = open_socket(server_id, sockets.address);
    if (socket->open() && !socket->has(id)) return socket.get();
  }
  return nullptr;
}

std::unique_ptr<PooledSocket> UdpSocketPool::open_socket(unsigned server_id, const SockAddr& server) {
  auto socket = std::make_unique<PooledSocket>(*this, server_id, server, read_buffer_.get(), read_batch * slice);
  if (socket->lacked_descriptors()) {
    lacked_descriptors_ = true;
    counters_.fd_exhausted.inc();
    fd_limit::report("an upstream UDP socket could not be opened");
  }
  return socket;
}

void UdpSocketPool::retire(std::unique_ptr<PooledSocket> socket) {
  if (socket) draining_.push_back(std::move(socket));
}

// Never from inside a socket's own callback: only from attach() and close_all().
void UdpSocketPool::sweep() {
  if (flushing_) return;
  draining_.remove_if([](const auto& socket) { return socket->idle(); });
}

void UdpSocketPool::close_all() {
  servers_.clear();
  draining_.clear();
  unsent_.clear();
  end_of_turn_.close();
}

}  // namespace diresolver
