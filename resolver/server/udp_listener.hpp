// A worker's UDP listening socket: reads each datagram into one buffer and
// hands it to the query path; sends answers without queuing (a full socket
// buffer drops the answer and counts it, as a busy UDP server must).
#pragma once

#include <uv.h>

#include <vector>

#include "dns/wire.hpp"
#include "server/listen_socket.hpp"
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
  void close() { socket_.close(); }

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned flags);

  QueryHandler& handler_;
  WorkerCounters& counters_;
  uv::Handle<uv_udp_t> socket_;
  std::vector<uint8_t> buffer_;
};

}  // namespace diresolver
