// A real libuv loop with a transport kit asking one upstream, a loopback
// socket the test answers from by hand: exchanges tested against real sockets.
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <uv.h>

#include <optional>
#include <vector>

#include "dns/query.hpp"
#include "loopback_socket.hpp"
#include "transport/kit.hpp"
#include "upstream/upstream_registry.hpp"

namespace diresolver::test {

// "a." A IN, RD, no EDNS.
inline std::vector<uint8_t> a_query() { return {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1}; }

struct LoopFixture {
  uv_loop_t loop;
  WorkerCounters counters{UpstreamRegistry::max_servers};
  std::optional<TransportKit> kit;
  test::LoopbackSocket server;
  Upstream upstream{1, "s", server.address, "example.", HealthSettings{}};
  std::vector<uint8_t> packet = a_query();
  dns::ParsedQuery parsed;

  LoopFixture() {
    REQUIRE(uv_loop_init(&loop) == 0);
    kit.emplace(&loop, UpstreamSettings{}, counters);
    parsed = dns::check_query(packet).query;
  }
  ~LoopFixture() {
    kit->close();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  ExchangeRequest request(uint32_t timeout_ms) { return {&upstream, packet, &parsed, timeout_ms}; }
};

// A query the server socket received (waited for up to a second), and from where.
struct ReceivedQuery {
  std::vector<uint8_t> packet;
  sockaddr_storage from{};
  socklen_t length = sizeof from;
};

inline ReceivedQuery receive_query(int fd) {
  pollfd ready{fd, POLLIN, 0};
  REQUIRE(poll(&ready, 1, 1000) == 1);
  ReceivedQuery query;
  query.packet.resize(512);
  auto size = recvfrom(fd, query.packet.data(), query.packet.size(), 0, reinterpret_cast<sockaddr*>(&query.from),
                       &query.length);
  REQUIRE(size >= 12);
  query.packet.resize(size_t(size));
  return query;
}

// The query's own bytes with QR set: an answer that matches it (ID and question).
inline void answer(int fd, ReceivedQuery query) {
  query.packet[2] |= 0x80;
  REQUIRE(sendto(fd, query.packet.data(), query.packet.size(), 0, reinterpret_cast<sockaddr*>(&query.from),
                 query.length) == ssize_t(query.packet.size()));
}

}  // namespace diresolver::test
