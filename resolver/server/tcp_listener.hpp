// A worker's TCP listener and its client connections (RFC 7766).
//
// A connection reads length-prefixed messages, passes each to the query path
// at once (several may be in flight; answers go out as they complete, which
// RFC 7766 §6.2.1.1 allows), and closes after `tcp_idle_timeout_ms` without a
// whole query or an answer. Queries in flight hold the connection object (not
// its socket) alive, so an answer for a client that went away is simply dropped.
// A client can make it hold only so much: it stops reading while `max_in_flight`
// queries await answers, or while `max_unsent_bytes` of answers wait for a client
// that does not read them, and reads on once both are below.
#pragma once

#include <uv.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "dns/wire.hpp"
#include "server/listen_socket.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class QueryHandler;
class TcpListener;
struct WorkerCounters;

class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(uv_loop_t* loop, TcpListener& listener);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  static constexpr unsigned max_in_flight = 100;
  static constexpr size_t max_unsent_bytes = 256 * 1024;

  bool accept(uv_stream_t* server);
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
  TcpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters, uint32_t idle_timeout_ms,
              unsigned max_connections);
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  void close();  // stops accepting and closes every connection

 private:
  friend class TcpConnection;
  static void on_connection(uv_stream_t* server, int status) noexcept;
  void accept_one();
  void forget(TcpConnection* connection);

  uv_loop_t* loop_;
  QueryHandler& handler_;
  WorkerCounters& counters_;
  uint32_t idle_timeout_ms_;
  unsigned max_connections_;
  uv::Handle<uv_tcp_t> socket_;
  std::vector<uint8_t> read_buffer_;  // shared by connections: reads are sequential
  std::unordered_map<TcpConnection*, std::shared_ptr<TcpConnection>> connections_;
};

}  // namespace diresolver
