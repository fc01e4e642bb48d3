// Listening sockets, made before any worker starts so a port that cannot be
// bound stops the daemon with a clear message. Each worker gets its own
// sockets on the same address (SO_REUSEPORT): the kernel spreads clients over
// workers, and no worker waits on another's socket.
#pragma once

#include <stdexcept>

#include "net/address.hpp"

namespace diresolver {

// A socket file descriptor, closed unless handed over with release().
class SocketFd {
 public:
  explicit SocketFd(int fd = -1) : fd_(fd) {}
  ~SocketFd();
  SocketFd(SocketFd&& other) noexcept : fd_(other.release()) {}
  SocketFd& operator=(SocketFd&& other) noexcept;
  SocketFd(const SocketFd&) = delete;
  SocketFd& operator=(const SocketFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// Both throw std::runtime_error("cannot listen on ADDR/udp: REASON").
// `freebind`: bind an address this host does not hold (yet): a VRRP backup
// listens on the service address before keepalived moves it here.
SocketFd open_udp_listener(const SockAddr& address, bool freebind);
SocketFd open_tcp_listener(const SockAddr& address, bool freebind);

}  // namespace diresolver
