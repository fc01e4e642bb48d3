#include "net/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace diresolver {

namespace {

bool set_why(std::string* why, std::string text) {
  if (why) *why = std::move(text);
  return false;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

// Splits "host", "host:port", "[v6]:port" or a bare IPv6 address into host and port text.
bool split_endpoint(std::string_view text, std::string& host, std::string_view& port) {
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') return false;
    port = rest.substr(1);
    return true;
  }
  auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    return true;
  }
  host = std::string(text);
  return true;
}

}  // namespace

std::optional<SockAddr> SockAddr::from_sockaddr(const sockaddr* sa) {
  if (!sa) return std::nullopt;
  SockAddr out;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&out.storage_, sa, sizeof(sockaddr_in6));
  } else {
    return std::nullopt;
  }
  return out;
}

std::optional<SockAddr> SockAddr::parse(std::string_view text, uint16_t default_port, std::string* why) {
  std::string host;
  std::string_view port_text;
  if (!split_endpoint(text, host, port_text)) {
    set_why(why, "expected ADDRESS, ADDRESS:PORT or [IPV6]:PORT");
    return std::nullopt;
  }
  uint16_t port = default_port;
  if (!port_text.empty() || text.ends_with(':')) {
    auto parsed = parse_port(port_text);
    if (!parsed) {
      set_why(why, "port must be a number from 1 to 65535");
      return std::nullopt;
    }
    port = *parsed;
  }
  SockAddr out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return out;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return out;
  }
  set_why(why, "not an IPv4 or IPv6 address");
  return std::nullopt;
}

socklen_t SockAddr::length() const { return family() == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in); }

uint16_t SockAddr::port() const {
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

bool SockAddr::is_loopback() const {
  if (family() == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  auto addr = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
  return (addr >> 24) == 127;
}

std::string SockAddr::host_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  }
  return buf;
}

std::string SockAddr::to_string() const {
  auto host = host_string();
  if (family() == AF_INET6) return "[" + host + "]:" + std::to_string(port());
  return host + ":" + std::to_string(port());
}

bool SockAddr::operator==(const SockAddr& other) const {
  if (family() != other.family()) return false;
  return std::memcmp(&storage_, &other.storage_, length()) == 0;
}

std::optional<Prefix> Prefix::parse(std::string_view text, std::string* why) {
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  Prefix out;
  unsigned max_bits = 0;
  if (inet_pton(AF_INET, host.c_str(), out.bytes_) == 1) {
    out.family_ = AF_INET;
    max_bits = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), out.bytes_) == 1) {
    out.family_ = AF_INET6;
    max_bits = 128;
  } else {
    set_why(why, "not an IPv4 or IPv6 address");
    return std::nullopt;
  }
  out.bits_ = max_bits;
  if (slash != std::string_view::npos) {
    auto bits_text = text.substr(slash + 1);
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (ec != std::errc{} || end != bits_text.data() + bits_text.size() || bits > max_bits || bits_text.empty()) {
      set_why(why, "prefix length must be 0 to " + std::to_string(max_bits));
      return std::nullopt;
    }
    out.bits_ = bits;
  }
  return out;
}

bool Prefix::contains(const sockaddr* sa) const {
  const uint8_t* addr = nullptr;
  if (sa->sa_family != family_) return false;
  if (family_ == AF_INET) {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  } else {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
  }
  unsigned full = bits_ / 8;
  if (std::memcmp(addr, bytes_, full) != 0) return false;
  unsigned rest = bits_ % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (bytes_[full] & mask);
}

std::string Prefix::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family_, bytes_, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(bits_);
}

bool Acl::allows(const sockaddr* client) const {
  sockaddr_in v4{};
  // A v4 client on a dual-stack socket arrives as ::ffff:a.b.c.d; match it as v4.
  if (client->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(client);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, &v6->sin6_addr.s6_addr[12], 4);
      client = reinterpret_cast<const sockaddr*>(&v4);
    }
  }
  for (const auto& prefix : allow_)
    if (prefix.contains(client)) return true;
  return false;
}

std::vector<Prefix> default_acl_prefixes() {
  std::vector<Prefix> out;
  for (auto text : {"127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fe80::/10"})
    out.push_back(*Prefix::parse(text));
  return out;
}

std::optional<sockaddr_un> unix_socket_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) return std::nullopt;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace diresolver
