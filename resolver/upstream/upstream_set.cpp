#include "upstream/upstream_set.hpp"

namespace diresolver {

UpstreamSet::UpstreamSet(const ZoneSpec& zone) : zone_(zone.zone) {
  for (const auto& server : zone.servers) servers_.push_back({server.name, server.address});
}

ServerOrder UpstreamSet::order_for_query() const {
  ServerOrder order;
  for (size_t i = 0; i < servers_.size() && i < ServerOrder::capacity; ++i)
    order.push(static_cast<uint8_t>(i));
  return order;
}

}  // namespace diresolver
