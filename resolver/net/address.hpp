// Socket addresses and address prefixes as the config writes them.
//
// SockAddr holds an IPv4 or IPv6 endpoint ("192.0.2.1", "192.0.2.1:5300",
// "[2001:db8::1]:53", "2001:db8::1"); Prefix is "10.0.0.0/8"-style, and Acl is a
// list of prefixes that a client address must fall in.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace diresolver {

class SockAddr {
 public:
  SockAddr() = default;
  static std::optional<SockAddr> from_sockaddr(const sockaddr* sa);
  // Parses an endpoint; a missing port means default_port. Errors say why.
  static std::optional<SockAddr> parse(std::string_view text, uint16_t default_port, std::string* why = nullptr);

  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const;
  int family() const { return storage_.ss_family; }
  uint16_t port() const;
  bool is_loopback() const;
  std::string to_string() const;  // "127.0.0.1:53" or "[::1]:53"
  std::string host_string() const;
  bool operator==(const SockAddr& other) const;

 private:
  sockaddr_storage storage_{};
};

class Prefix {
 public:
  static std::optional<Prefix> parse(std::string_view text, std::string* why = nullptr);
  bool contains(const sockaddr* sa) const;
  std::string to_string() const;

 private:
  int family_ = AF_UNSPEC;
  uint8_t bytes_[16]{};
  unsigned bits_ = 0;
};

class Acl {
 public:
  Acl() = default;
  explicit Acl(std::vector<Prefix> allow) : allow_(std::move(allow)) {}
  bool allows(const sockaddr* client) const;
  const std::vector<Prefix>& prefixes() const { return allow_; }

 private:
  std::vector<Prefix> allow_;
};

// The address of a Unix socket at `path`; none for "" or a path sun_path cannot hold.
std::optional<sockaddr_un> unix_socket_address(const std::string& path);

// Loopback, RFC 1918, IPv6 ULA and link-local: who may use a site resolver by default.
std::vector<Prefix> default_acl_prefixes();

}  // namespace diresolver
