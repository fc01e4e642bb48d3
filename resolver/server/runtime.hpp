// What every worker shares for the life of one config: the config itself,
// the router, the ACL and the upstream sets (indexed as Config::zones).
// Immutable once built, and held by shared_ptr: a reload builds a new one,
// and queries still in flight keep the old one alive until they finish.
// The sets' servers carry health and RTT that change underneath (atomics)
// and outlive a reload when unchanged (see UpstreamRegistry).
#pragma once

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "net/address.hpp"
#include "router/router.hpp"
#include "upstream/upstream_registry.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

struct Runtime {
  Runtime(Config c, UpstreamRegistry& registry) : config(std::move(c)), router(config.zones), acl(config.acl) {
    HealthSettings health{config.health.fall, config.health.rise};
    for (const auto& zone : config.zones) sets.emplace_back(zone, config.upstream.selection, health, registry);
  }
  Config config;
  Router router;
  Acl acl;
  std::vector<UpstreamSet> sets;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

}  // namespace diresolver
