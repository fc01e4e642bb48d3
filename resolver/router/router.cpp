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
  // Heterogeneous lookup needs C++20 transparent hashing; a short string copy
  // per step is cheap next to a forward and avoids that machinery.
  std::string key;
  size_t pos = 0;
  while (pos < name.size()) {
    key.assign(name.substr(pos));
    if (auto it = routes_.find(key); it != routes_.end()) return &it->second;
    auto label = static_cast<uint8_t>(name[pos]);
    if (label == 0) break;
    pos += 1 + label;
  }
  return nullptr;
}

}  // namespace diresolver
