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
