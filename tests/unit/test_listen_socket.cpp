// Client-facing UDP sockets ignore path MTU information (IP_PMTUDISC_OMIT), as
// DNS servers do against forged ICMP "fragmentation needed" messages. Real
// sockets on loopback (the suite runs inside its own network namespace).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "server/listen_socket.hpp"

using namespace diresolver;

namespace {

int socket_option(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  REQUIRE(getsockopt(fd, level, name, &value, &length) == 0);
  return value;
}

}  // namespace

TEST_CASE("UDP listeners ignore path MTU discovery, over IPv4 and IPv6") {
  auto v4 = open_udp_listener(*SockAddr::parse("127.0.0.1", 0));
  CHECK(socket_option(v4.get(), IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_OMIT);
  auto v6 = open_udp_listener(*SockAddr::parse("::1", 0));
  CHECK(socket_option(v6.get(), IPPROTO_IPV6, IPV6_MTU_DISCOVER) == IPV6_PMTUDISC_OMIT);
  // TCP does its own path MTU discovery, validated by sequence numbers: left as the kernel has it.
  auto tcp = open_tcp_listener(*SockAddr::parse("127.0.0.1", 0));
  CHECK(socket_option(tcp.get(), IPPROTO_IP, IP_MTU_DISCOVER) != IP_PMTUDISC_OMIT);
}
