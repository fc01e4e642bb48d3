// A worker's UDP listening socket. Datagrams are read in batches (libuv's
// recvmmsg mode: one system call for up to `read_batch` queries) and handed to
// the query path one by one. Every answer of a loop turn, from the cache or
// relayed from an upstream, is kept and the turn's answers are written with one
// sendmmsg at its end (or sooner, when 32 are waiting). Nothing waits beyond
// the turn: a full socket buffer drops the answer and counts it, as a busy UDP
// server must.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <memory>

#include "dns/wire.hpp"
#include "net/datagram_batch.hpp"
#include "server/listen_socket.hpp"
#include "uv/end_of_turn.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class QueryHandler;
struct WorkerCounters;

class UdpListener {
 public:
  UdpListener(uv_loop_t* loop, SocketFd fd, QueryHandler& handler, WorkerCounters& counters);
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void send(const SockAddr& to, dns::Bytes answer);
  void close();  // answers kept so far go out first

 private:
  // libuv's most per recvmmsg call, each in a 64 KiB slice of the read buffer.
  static constexpr size_t read_batch = 20;
  static constexpr size_t slice = 65536;

  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned flags) noexcept;
  void receive(ssize_t nread, const uv_buf_t* buf, const sockaddr* from, unsigned flags);
  void flush();
  void send_now(const SockAddr& to, dns::Bytes answer);

  QueryHandler& handler_;
  WorkerCounters& counters_;
  uv::Handle<uv_udp_t> socket_;
  int fd_ = -1;
  // Not zeroed: only the slices datagrams land in are ever touched.
  std::unique_ptr<uint8_t[]> read_buffer_;
  DatagramBatch answers_;
  uv::EndOfTurn end_of_turn_;
};

}  // namespace diresolver
