// An upstream set: the servers that answer for one zone (a DI pair, a
// [[forward]] zone's servers, or the default set) and the order in which a
// query tries them.
//
// Shared read-only by all workers. The order is sequential today; health
// state and RTT-based selection slot into order_for_query() without touching
// the forwarder.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace diresolver {

struct Upstream {
  std::string name;
  SockAddr address;
};

// The servers to try for one query, best first. A fixed array: no allocation.
class ServerOrder {
 public:
  static constexpr size_t capacity = 8;
  void push(uint8_t index) { items_[size_++] = index; }
  size_t size() const { return size_; }
  size_t operator[](size_t i) const { return items_[i]; }

 private:
  std::array<uint8_t, capacity> items_{};
  size_t size_ = 0;
};

class UpstreamSet {
 public:
  explicit UpstreamSet(const ZoneSpec& zone);
  const std::string& zone() const { return zone_; }
  size_t size() const { return servers_.size(); }
  const Upstream& server(size_t index) const { return servers_[index]; }
  ServerOrder order_for_query() const;

 private:
  std::string zone_;
  std::vector<Upstream> servers_;
};

}  // namespace diresolver
