#include "router/router.hpp"

#include "dns/name.hpp"

namespace diresolver {

Router::Router(const std::vector<ZoneSpec>& zones, const std::vector<unsigned>& counter_slots) {
  for (size_t i = 0; i < zones.size(); ++i) {
    const auto& z = zones[i];
    routes_.emplace(zone_name_to_wire(z.zone), Route{z.zone, z.kind, z.region, i, counter_slots.at(i)});
  }
}

const Route* Router::lookup(std::string_view name) const {
  size_t pos = 0;
  while (pos < name.size()) {
    if (auto it = routes_.find(name.substr(pos)); it != routes_.end()) return &it->second;
    auto label = static_cast<uint8_t>(name[pos]);
    if (label == 0) break;
    pos += 1 + label;
  }
  return nullptr;
}

}  // namespace diresolver
