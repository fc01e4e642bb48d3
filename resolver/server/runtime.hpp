// What every worker shares, read-only, for the life of a config: the config
// itself, the router and the upstream sets (indexed as Config::zones).
#pragma once

#include <vector>

#include "config/config.hpp"
#include "net/address.hpp"
#include "router/router.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

struct Runtime {
  explicit Runtime(Config c) : config(std::move(c)), router(config.zones), acl(config.acl) {
    for (const auto& zone : config.zones) sets.emplace_back(zone);
  }
  Config config;
  Router router;
  Acl acl;
  std::vector<UpstreamSet> sets;
};

}  // namespace diresolver
