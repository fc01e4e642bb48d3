#include "server/listen_socket.hpp"

#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace diresolver {

SocketFd::~SocketFd() {
  if (fd_ >= 0) ::close(fd_);
}

SocketFd& SocketFd::operator=(SocketFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

namespace {

// Room for a burst of TCP connects while a worker is busy; the kernel caps it at somaxconn.
constexpr int tcp_backlog = 1024;

[[noreturn]] void fail(const SockAddr& address, const char* transport, const char* step) {
  throw std::runtime_error("cannot listen on " + address.to_string() + "/" + transport + ": " + step + ": " +
                           std::strerror(errno));
}

void allow_foreign_address(int fd, const SockAddr& address, const char* transport) {
  int on = 1;
  bool v4 = address.family() == AF_INET;
  if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_FREEBIND : IPV6_FREEBIND, &on, sizeof on) != 0)
    fail(address, transport, v4 ? "setsockopt IP_FREEBIND" : "setsockopt IPV6_FREEBIND");
}

SocketFd bound_socket(const SockAddr& address, bool freebind, int type, const char* transport) {
  SocketFd fd(::socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) fail(address, transport, "socket");
  int on = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
    fail(address, transport, "setsockopt");
  // An IPv6 listener serves IPv6 only; IPv4 is configured as its own address.
  if (address.family() == AF_INET6 && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0)
    fail(address, transport, "setsockopt");
  if (freebind) allow_foreign_address(fd.get(), address, transport);
  if (::bind(fd.get(), address.get(), address.length()) != 0) fail(address, transport, "bind");
  return fd;
}

// Answers leave at the interface's MTU whatever an ICMP "fragmentation needed"
// claims: a forged one would otherwise make us fragment answers to a client,
// exposing them to spoofed fragments (Unbound and Knot do the same).
void ignore_path_mtu(int fd, const SockAddr& address) {
  bool v4 = address.family() == AF_INET;
  int omit = v4 ? IP_PMTUDISC_OMIT : IPV6_PMTUDISC_OMIT;
  if (setsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &omit, sizeof omit) != 0)
    fail(address, "udp", "setsockopt");
}

}  // namespace

SocketFd open_udp_listener(const SockAddr& address, bool freebind) {
  auto fd = bound_socket(address, freebind, SOCK_DGRAM, "udp");
  ignore_path_mtu(fd.get(), address);
  return fd;
}

SocketFd open_tcp_listener(const SockAddr& address, bool freebind) {
  auto fd = bound_socket(address, freebind, SOCK_STREAM, "tcp");
  if (::listen(fd.get(), tcp_backlog) != 0) fail(address, "tcp", "listen");
  return fd;
}

}  // namespace diresolver
