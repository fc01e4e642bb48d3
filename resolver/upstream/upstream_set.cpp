#include "upstream/upstream_set.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "dns/name.hpp"
#include "dns/response.hpp"

namespace diresolver {

std::string route_label(const ZoneSpec& zone) {
  auto kind = std::string(name_of(zone.kind));
  return zone.kind == RouteKind::di ? kind + ":" + zone.region : kind;
}

UpstreamSet::UpstreamSet(const ZoneSpec& zone, Selection selection, HealthSettings health, UpstreamRegistry& registry)
    : zone_(zone.zone),
      zone_wire_(zone_name_to_wire(zone.zone)),
      route_label_(diresolver::route_label(zone)),
      region_(zone.region),
      selection_(selection),
      tcp_only_(zone.tcp_only),
      probe_query_(
          dns::make_query(zone_name_to_wire(zone.probe_name.empty() ? zone.zone : zone.probe_name), zone.probe_type)) {
  for (const auto& server : zone.servers)
    servers_.push_back(registry.obtain(server.name, server.address, zone.zone, health));
  if (servers_.size() > ServerOrder::capacity) throw std::invalid_argument("more servers than ServerOrder holds");
}

bool UpstreamSet::all_down() const {
  for (const auto& server : servers_)
    if (server->is_up()) return false;
  return true;
}

ServerOrder UpstreamSet::order_for_query(int64_t now_ms, uint32_t rotation) const {
  ServerOrder healthy, down;
  for (size_t i = 0; i < servers_.size(); ++i) (servers_[i]->is_up() ? healthy : down).push(static_cast<uint8_t>(i));
  if (selection_ == Selection::lowest_rtt) {
    // Read once: other workers update RTTs meanwhile, and std::sort needs a
    // comparison that does not change under it. Ties keep the configured
    // order. Not std::stable_sort: it allocates a buffer on every call.
    std::array<uint32_t, ServerOrder::capacity> rtt{};
    for (size_t i = 0; i < servers_.size(); ++i) rtt[i] = servers_[i]->srtt_us(now_ms);
    std::sort(healthy.begin(), healthy.end(),
              [&rtt](uint8_t a, uint8_t b) { return rtt[a] != rtt[b] ? rtt[a] < rtt[b] : a < b; });
  } else {
    if (selection_ == Selection::round_robin && healthy.size() > 1) {
      ServerOrder rotated;
      for (size_t i = 0; i < healthy.size(); ++i)
        rotated.push(static_cast<uint8_t>(healthy[(i + rotation) % healthy.size()]));
      healthy = rotated;
    }
    healthy = slow_ones_last(healthy, now_ms);
  }
  for (auto index : down) healthy.push(index);
  return healthy;
}

// Sequential and round robin keep their order among servers of like speed, but
// one far slower than the fastest (a congested link: it answers, so health
// keeps it up) would cost every query it goes first for a hedge delay.
ServerOrder UpstreamSet::slow_ones_last(const ServerOrder& order, int64_t now_ms) const {
  if (order.size() < 2) return order;
  std::array<uint32_t, ServerOrder::capacity> rtt{};
  uint32_t fastest = UINT32_MAX;
  for (auto index : order) fastest = std::min(fastest, rtt[index] = servers_[index]->srtt_us(now_ms));
  ServerOrder out, slow;
  for (auto index : order) (rtt[index] > fastest + slower_than_partner_us ? slow : out).push(index);
  for (auto index : slow) out.push(index);
  return out;
}

}  // namespace diresolver
