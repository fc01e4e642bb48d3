// Client-facing UDP sockets ignore path MTU information (IP_PMTUDISC_OMIT), as
// DNS servers do against forged ICMP "fragmentation needed" messages. Real
// sockets on loopback (the suite runs inside its own network namespace). With
// `freebind`, listeners bind an address the host does not hold (binding sends
// nothing: safe for any address).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>
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

// net.ipv4.ip_nonlocal_bind = 1 would let any bind succeed, freebind or not.
bool nonlocal_bind_allowed() {
  int fd = ::open("/proc/sys/net/ipv4/ip_nonlocal_bind", O_RDONLY);
  char c = '0';
  if (fd >= 0) {
    (void)!::read(fd, &c, 1);
    ::close(fd);
  }
  return c == '1';
}

}  // namespace

TEST_CASE("freebind: listeners on an address not on this host, which without it cannot be bound") {
  auto service = *SockAddr::parse("198.18.0.53", 0);  // RFC 2544's range: on no interface here
  if (!nonlocal_bind_allowed()) {
    CHECK_THROWS_WITH(open_udp_listener(service, false), doctest::Contains("Cannot assign requested address"));
    CHECK_THROWS_WITH(open_tcp_listener(service, false), doctest::Contains("bind"));
  }
  auto udp = open_udp_listener(service, true);
  CHECK(socket_option(udp.get(), IPPROTO_IP, IP_FREEBIND) == 1);
  auto tcp = open_tcp_listener(service, true);
  CHECK(socket_option(tcp.get(), IPPROTO_IP, IP_FREEBIND) == 1);
  auto v6 = open_udp_listener(*SockAddr::parse("2001:db8::53", 0), true);
  CHECK(socket_option(v6.get(), IPPROTO_IPV6, IPV6_FREEBIND) == 1);
}

TEST_CASE("UDP listeners ignore path MTU discovery, over IPv4 and IPv6") {
  auto v4 = open_udp_listener(*SockAddr::parse("127.0.0.1", 0), false);
  CHECK(socket_option(v4.get(), IPPROTO_IP, IP_MTU_DISCOVER) == IP_PMTUDISC_OMIT);
  auto v6 = open_udp_listener(*SockAddr::parse("::1", 0), false);
  CHECK(socket_option(v6.get(), IPPROTO_IPV6, IPV6_MTU_DISCOVER) == IPV6_PMTUDISC_OMIT);
  // TCP does its own path MTU discovery, validated by sequence numbers: left as the kernel has it.
  auto tcp = open_tcp_listener(*SockAddr::parse("127.0.0.1", 0), false);
  CHECK(socket_option(tcp.get(), IPPROTO_IP, IP_MTU_DISCOVER) != IP_PMTUDISC_OMIT);
}
