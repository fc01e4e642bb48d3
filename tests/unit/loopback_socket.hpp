// A non-blocking UDP socket on 127.0.0.1 with a kernel-chosen port, closed at
// scope end (the suite runs inside its own network namespace).
#pragma once

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "net/address.hpp"

namespace diresolver::test {

struct LoopbackSocket {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  SockAddr address;

  LoopbackSocket() {
    REQUIRE(fd >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t length = sizeof sin;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &length) == 0);
    address = *SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin));
  }
  ~LoopbackSocket() { close(fd); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  std::vector<std::string> drain() const {
    std::vector<std::string> got;
    char buffer[2048];
    for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) >= 0;) got.emplace_back(buffer, size_t(n));
    return got;
  }
};

}  // namespace diresolver::test
