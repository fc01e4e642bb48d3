#include "upstream/upstream_registry.hpp"

#include <stdexcept>
#include <vector>

namespace diresolver {

std::shared_ptr<Upstream> UpstreamRegistry::obtain(const std::string& name, const SockAddr& address,
                                                   const std::string& zone, HealthSettings health) {
  auto key = zone + " " + address.to_string();
  if (auto existing = servers_[key].lock()) {
    if (existing->name() == name) {
      existing->set_health_settings(health);
      return existing;
    }
  }
  auto server = std::make_shared<Upstream>(free_id(), name, address, zone, health);
  servers_[key] = server;
  return server;
}

unsigned UpstreamRegistry::zone_slot(const std::string& zone) {
  if (auto it = zone_slots_.find(zone); it != zone_slots_.end()) return it->second;
  if (zone_slots_.size() >= max_zones)
    throw std::runtime_error("more than " + std::to_string(max_zones) + " zones configured since start; restart");
  auto slot = static_cast<unsigned>(zone_slots_.size());
  zone_slots_.emplace(zone, slot);
  return slot;
}

unsigned UpstreamRegistry::free_id() {
  std::vector<bool> used(max_servers, false);
  for (auto it = servers_.begin(); it != servers_.end();) {
    if (auto server = it->second.lock()) {
      used[server->id()] = true;
      ++it;
    } else {
      it = servers_.erase(it);
    }
  }
  for (unsigned id = 0; id < max_servers; ++id)
    if (!used[id]) return id;
  throw std::runtime_error("more than " + std::to_string(max_servers) + " upstream servers configured");
}

}  // namespace diresolver
