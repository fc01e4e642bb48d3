// Connected UDP sockets to each upstream server, shared by a worker's queries.
//
// Opening, binding, connecting and registering a socket per upstream query
// cost most of a cache miss. Here each server has a few connected sockets,
// each with its own kernel-chosen random source port (RFC 5452 §9.2), and
// answers are matched to their query by ID through the socket's in-flight
// table. After `uses_per_socket` queries a socket is retired (it drains, then
// closes) and a fresh one with a new random port takes its place, so the
// source port keeps changing while the cost is paid once per many queries.
// connect() still makes the kernel drop datagrams from any other source.
// Queries are kept per socket and a loop turn's are written with one sendmmsg
// per socket at the turn's end (uv/end_of_turn.hpp).
#pragma once

#include <uv.h>

#include <cstdint>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "dns/wire.hpp"
#include "metrics/counters.hpp"
#include "net/address.hpp"
#include "net/datagram_batch.hpp"
#include "transport/in_flight_table.hpp"
#include "uv/end_of_turn.hpp"
#include "uv/handle.hpp"

namespace diresolver {

// What waits on a pooled socket for the answer to one ID.
class UdpWaiter {
 public:
  virtual ~UdpWaiter() = default;
  virtual void on_datagram(std::span<uint8_t> packet) = 0;  // in the pool's read buffer
  virtual void on_socket_error() = 0;                       // e.g. ICMP port unreachable on the connected socket
};

class UdpSocketPool;

class PooledSocket {
 public:
  // `buffer` (`buffer_size` bytes) receives every read; a worker reads one socket at a time.
  PooledSocket(UdpSocketPool& pool, unsigned server_id, const SockAddr& server, uint8_t* buffer, size_t buffer_size);
  ~PooledSocket();
  PooledSocket(const PooledSocket&) = delete;
  PooledSocket& operator=(const PooledSocket&) = delete;

  bool open() const { return open_; }
  bool lacked_descriptors() const { return lacked_descriptors_; }
  bool has(uint16_t id) const { return waiting_.find(id) != nullptr; }
  bool idle() const { return waiting_.size() == 0; }
  bool attach(uint16_t id, UdpWaiter* waiter);
  void detach(uint16_t id) { waiting_.erase(id); }
  // Keeps the query for the turn's sendmmsg; false if it could not be sent at all.
  // Never calls a waiter back: a refusal waits for the turn's end.
  bool send(dns::Bytes packet);
  void flush();  // the turn's end: writes what is kept, then fails the waiters if the port is closed
  uint32_t uses = 0;

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned) noexcept;
  bool write_queued();  // true if the kernel said ECONNREFUSED
  void fail_all();
  void count_unclaimed(std::span<const uint8_t> packet);

  UdpSocketPool& pool_;
  unsigned server_id_;
  uint8_t* buffer_;
  size_t buffer_size_;
  uv::Handle<uv_udp_t> socket_;
  int fd_ = -1;
  bool open_ = false;
  bool lacked_descriptors_ = false;
  InFlightTable<UdpWaiter, 512> waiting_;  // twice uses_per_socket (checked below)
  DatagramBatch queries_;
  bool waiting_for_turn_end_ = false;  // listed in the pool's unsent_
  bool refused_ = false;               // met while a batch overflowed; reported at the turn's end
};

class UdpSocketPool {
 public:
  static constexpr size_t sockets_per_server = 4;
  static constexpr uint32_t uses_per_socket = 256;
  // Answers are read like client queries: recvmmsg, up to 20 per call, 64 KiB each.
  static constexpr size_t read_batch = 20;
  static constexpr size_t slice = 65536;

  UdpSocketPool(uv_loop_t* loop, WorkerCounters& counters);
  static_assert(2 * uses_per_socket <= 512, "PooledSocket's in-flight table must stay half empty");

  // A socket to `server` (registry id `server_id`) on which `id` now waits
  // for `waiter`; nullptr if no socket could be opened or `id` is taken on all.
  PooledSocket* attach(unsigned server_id, const SockAddr& server, uint16_t id, UdpWaiter* waiter);
  // Whether the last attach() found no socket for lack of file descriptors.
  bool lacked_descriptors() const { return lacked_descriptors_; }
  void close_all();

 private:
  friend class PooledSocket;
  void write_at_end_of_turn(PooledSocket* socket);
  void forget(PooledSocket* socket);
  void flush_all();
  struct ServerSockets {
    SockAddr address;
    std::vector<std::unique_ptr<PooledSocket>> active;
    size_t next = 0;
  };
  PooledSocket* pick(unsigned server_id, ServerSockets& sockets, uint16_t id);
  std::unique_ptr<PooledSocket> open_socket(unsigned server_id, const SockAddr& server);
  void retire(std::unique_ptr<PooledSocket> socket);
  void sweep();

  uv_loop_t* loop_;
  WorkerCounters& counters_;
  std::unique_ptr<uint8_t[]> read_buffer_;  // not zeroed: only slices that receive are touched
  std::unordered_map<unsigned, ServerSockets> servers_;
  std::list<std::unique_ptr<PooledSocket>> draining_;  // retired, closed once nobody waits
  std::vector<PooledSocket*> unsent_;                  // sockets with queries kept for this turn's end
  bool flushing_ = false;                              // no socket is closed while the turn's queries go out
  bool lacked_descriptors_ = false;
  uv::EndOfTurn end_of_turn_;
};

}  // namespace diresolver
