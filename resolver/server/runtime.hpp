// What every worker shares for the life of one config: the config itself,
// the router, the ACL and the upstream sets (indexed as Config::zones).
// Immutable once built (but for the rate limiter's buckets), and held by shared_ptr: a reload builds a new one,
// and queries still in flight keep the old one alive until they finish.
// The sets' servers carry health and RTT that change underneath (atomics)
// and outlive a reload when unchanged (see UpstreamRegistry).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "dnstap/dnstap_log.hpp"
#include "net/address.hpp"
#include "router/router.hpp"
#include "server/rate_limiter.hpp"
#include "upstream/upstream_registry.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

struct Runtime {
  Runtime(Config c, UpstreamRegistry& registry, std::shared_ptr<const DnstapLog> dnstap_log = nullptr)
      : config(std::move(c)),
        zone_slots(slots_of(config.zones, registry)),
        router(config.zones, zone_slots),
        acl(config.acl),
        limiter(config.ratelimit.qps ? std::make_unique<RateLimiter>(config.ratelimit) : nullptr),
        dnstap(std::move(dnstap_log)) {
    HealthSettings health{config.health.fall, config.health.rise};
    for (const auto& zone : config.zones) sets.emplace_back(zone, config.upstream.selection, health, registry);
  }
  Config config;
  std::vector<unsigned> zone_slots;  // route counter slot of each of config.zones
  Router router;
  Acl acl;
  // Shared by every worker and fresh with each config: a reload forgets the buckets.
  std::unique_ptr<RateLimiter> limiter;  // null: no [ratelimit]
  std::vector<UpstreamSet> sets;
  // Kept by the daemon across reloads that leave [dnstap] alone (daemon/dnstap_outputs.hpp).
  std::shared_ptr<const DnstapLog> dnstap;  // null: dnstap off
  // Counts configs, so answers forwarded under one a reload replaced can be told apart.
  const uint64_t generation = next_generation();

 private:
  static uint64_t next_generation() {
    static std::atomic<uint64_t> last{0};
    return ++last;
  }
  static std::vector<unsigned> slots_of(const std::vector<ZoneSpec>& zones, UpstreamRegistry& registry) {
    std::vector<unsigned> slots;
    for (const auto& zone : zones) slots.push_back(registry.zone_slot(zone.zone));
    return slots;
  }
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// The runtime's upstream set `index`, holding the whole runtime alive: a query
// forwarded before a reload finishes on the set it started with.
inline SetPtr set_in(const RuntimePtr& runtime, size_t index) { return {runtime, &runtime->sets[index]}; }

}  // namespace diresolver
