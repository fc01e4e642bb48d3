// Where an answer goes back: a UDP client (its listener and address) or a TCP
// connection, kept alive by the query that still owes it an answer.
#pragma once

#include <cstdint>
#include <memory>

#include "net/address.hpp"

namespace diresolver {

class UdpListener;
class TcpConnection;

struct Client {
  SockAddr address;
  UdpListener* udp = nullptr;          // set for UDP clients; lives until the worker stops
  std::shared_ptr<TcpConnection> tcp;  // set for TCP clients
  uint64_t received_ns = 0;            // uv_hrtime() when read, if responses are timed
};

}  // namespace diresolver
