// Hands out the Upstream objects of every runtime, by zone and address, so a
// config reload keeps an unchanged server's health, RTT and counters.
//
// Ids index every per-worker counter array, which is allocated once at
// max_servers entries; an id is recycled when no runtime holds its server.
// Zones get slots the same way, for the per-worker route counters; a zone
// keeps its slot for the life of the process, so its counter never jumps.
// Used only by the control thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "upstream/upstream.hpp"

namespace diresolver {

class UpstreamRegistry {
 public:
  static constexpr unsigned max_servers = 256;
  static constexpr unsigned max_zones = 256;  // == max_zone_slots of the counters

  // The existing server for (zone, address) with its display name and
  // thresholds updated, or a new one. Throws std::runtime_error when full.
  std::shared_ptr<Upstream> obtain(const std::string& name, const SockAddr& address, const std::string& zone,
                                   HealthSettings health);
  // The zone's counter slot. Throws std::runtime_error when max_zones distinct
  // zones have been configured since start.
  unsigned zone_slot(const std::string& zone);

 private:
  unsigned free_id();
  std::map<std::string, unsigned> zone_slots_;
  std::map<std::string, std::weak_ptr<Upstream>> servers_;  // key: zone + " " + address
};

}  // namespace diresolver
