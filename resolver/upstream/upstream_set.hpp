// An upstream set: the servers that answer for one zone (a DI pair, a
// [[forward]] zone's servers, or the default set), its selection policy, and
// the order in which one query tries them.
//
// Shared by all workers; the servers' health and RTT change underneath
// (atomics), the set itself does not. order_for_query() puts healthy servers
// first, in policy order, then the down ones: with every server down a query
// still goes out, so live traffic probes too.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "upstream/upstream.hpp"
#include "upstream/upstream_registry.hpp"

namespace diresolver {

// The servers to try for one query, best first. A fixed array: no allocation.
class ServerOrder {
 public:
  static constexpr size_t capacity = max_servers_per_zone;
  void push(uint8_t index) { items_[size_++] = index; }
  size_t size() const { return size_; }
  size_t operator[](size_t i) const { return items_[i]; }
  uint8_t* begin() { return items_.data(); }
  uint8_t* end() { return items_.data() + size_; }
  const uint8_t* begin() const { return items_.data(); }
  const uint8_t* end() const { return items_.data() + size_; }

 private:
  std::array<uint8_t, capacity> items_{};
  size_t size_ = 0;
};

class UpstreamSet {
 public:
  // Servers come from the registry, so a reload keeps those that did not change.
  UpstreamSet(const ZoneSpec& zone, Selection selection, HealthSettings health, UpstreamRegistry& registry);

  const std::string& zone() const { return zone_; }
  std::span<const uint8_t> zone_wire() const {  // what dnstap's forwarder messages carry
    return {reinterpret_cast<const uint8_t*>(zone_wire_.data()), zone_wire_.size()};
  }
  const std::string& route_label() const { return route_label_; }
  const std::string& region() const { return region_; }  // DI zones only
  Selection selection() const { return selection_; }
  bool tcp_only() const { return tcp_only_; }
  size_t size() const { return servers_.size(); }
  Upstream& server(size_t index) const { return *servers_[index]; }
  const std::vector<uint8_t>& probe_query() const { return probe_query_; }
  bool all_down() const;

  // `rotation` is the caller's own counter, so round robin needs no shared state.
  ServerOrder order_for_query(int64_t now_ms, uint32_t rotation) const;
  // Under sequential and round robin, a healthy server whose SRTT is more than
  // this above the fastest one's goes after the others.
  static constexpr uint32_t slower_than_partner_us = 100'000;

 private:
  ServerOrder slow_ones_last(const ServerOrder& order, int64_t now_ms) const;

  std::string zone_;
  std::string zone_wire_;
  std::string route_label_;
  std::string region_;
  Selection selection_;
  bool tcp_only_;
  std::vector<std::shared_ptr<Upstream>> servers_;
  std::vector<uint8_t> probe_query_;
};

// A query's set, holding the runtime that owns it alive (an aliasing shared_ptr):
// a transaction keeps using its set after a reload has replaced the runtime.
using SetPtr = std::shared_ptr<const UpstreamSet>;

std::string route_label(const ZoneSpec& zone);  // "di:amer", "forward", "default"

}  // namespace diresolver
