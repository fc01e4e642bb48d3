// A worker's TCP listener and its client connections (RFC 7766).
//
// A connection reads length-prefixed messages, passes each to the query path
// at once (several may be in flight; answers go out as they complete, which
// RFC 7766 §6.2.1.1 allows), and closes after `tcp_idle_timeout_ms` without a
// whole query or an answer. Queries in flight hold the connection object (not
// its socket) alive, so an answer for a client that went away is simply dropped.
// A client can make it hold only so much: it stops reading while `max_in_flight`
// queries await answers, or while `max_unsent_bytes` of answers wait for a client
// that does not read them, and reads on once both are below. Answers to queries
// already taken still come, so a client that never reads is cut off once
// `max_held_bytes` would be held for it.
//
// The listener accepts by itself (accept4 on a polled socket) rather than
// through libuv, which retries a failing accept at once and spins its loop at
// the file-descriptor limit: here a shortage pauses accepting for a moment,
// and connections are refused while the descriptors left are the reserve kept
// for upstream sockets, so UDP clients and health probes go on.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/wire.hpp"
#include "config/config.hpp"
#include "server/listen_socket.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class QueryHandler;
class TcpListener;
struct WorkerCounters;

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(uv_loop_t* loop, TcpListener& listener, const SockAddr& peer);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  static constexpr unsigned max_in_flight = 100;
  static constexpr size_t max_unsent_bytes = 256 * 1024;
  static constexpr size_t max_held_bytes = 2 * max_unsent_bytes;

  bool open(SocketFd fd);
  void send(dns::Bytes answer);
  void close();

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_idle(uv_timer_t* timer) noexcept;
  static void on_written(uv_stream_t* stream) noexcept;
  void take_messages();
  void update_reading();
  void touch();
  size_t held_bytes() const;

  TcpListener& listener_;
  SockAddr peer_;
  uv::Handle<uv_tcp_t> socket_;
  uv::Handle<uv_timer_t> idle_;
  std::vector<uint8_t> pending_;  // bytes not yet taken as messages
  unsigned in_flight_ = 0;        // queries handed on, not yet answered
  bool reading_ = false;
  bool taking_ = false;  // take_messages() is on the stack
  bool closed_ = false;
};

class TcpListener {
 public:
  TcpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters,
              const ServerSettings& settings);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void close();  // stops accepting and closes every connection

 private:
  friend class TcpConnection;
  static constexpr unsigned accepts_per_turn = 64;  // then UDP and timers get their turn
  static constexpr uint64_t pause_ms = 250;         // after the kernel refused to accept

  static void on_readable(uv_poll_t* poll, int status, int events) noexcept;
  static void on_pause_over(uv_timer_t* timer) noexcept;
  void accept_pending();
  void admit(SocketFd fd, const sockaddr_storage& peer);
  bool may_admit(int fd, const SockAddr& peer);
  void pause_accepting(int error);
  void forget(TcpConnection* connection, const SockAddr& peer);

  uv_loop_t* loop_;
  QueryHandler& handler_;
  WorkerCounters& counters_;
  uint32_t idle_timeout_ms_;
  unsigned max_connections_;
  unsigned max_per_client_;
  unsigned fd_reserve_;
  SocketFd listen_fd_;
  uv::Handle<uv_poll_t> poll_;
  uv::Handle<uv_timer_t> pause_;
  std::unordered_map<std::string, unsigned> per_client_;  // open connections by client address
  std::vector<uint8_t> read_buffer_;  // shared by connections: reads are sequential
  std::unordered_map<TcpConnection*, std::shared_ptr<TcpConnection>> connections_;
};

}  // namespace diresolver
