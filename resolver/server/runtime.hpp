// What every worker shares for the life of a config: the config itself, the
// router, the ACL and the upstream sets (indexed as Config::zones). The sets'
// servers carry health and RTT that change underneath (atomics); nothing
// else here changes after construction.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "net/address.hpp"
#include "router/router.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

struct Runtime {
  explicit Runtime(Config c) : config(std::move(c)), router(config.zones), acl(config.acl) {
    HealthSettings health{config.health.fall, config.health.rise};
    for (const auto& zone : config.zones) sets.emplace_back(zone, config.upstream.selection, health, server_count);
  }
  Config config;
  Router router;
  Acl acl;
  unsigned server_count = 0;  // servers across all sets; Upstream::id() < server_count
  std::vector<UpstreamSet> sets;
};

}  // namespace diresolver
