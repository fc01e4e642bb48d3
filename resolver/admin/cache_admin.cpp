#include "admin/cache_admin.hpp"

#include "dns/name.hpp"
#include "util/log.hpp"

namespace diresolver {

FlushOutcome flush_cache(PacketCache& cache, const std::optional<std::string>& name,
                         const std::optional<std::string>& zone) {
  if (name && zone) return {0, "give name or zone, not both"};
  if (!name && !zone) {
    auto count = cache.stats().entries;
    cache.flush_all();
    log::info("cache flushed: everything (", count, " entries)");
    return {count, ""};
  }
  std::string why;
  auto normalized = normalize_zone_name(name ? *name : *zone, &why);
  if (!normalized) return {0, (name ? "name: " : "zone: ") + why};
  auto wire = zone_name_to_wire(*normalized);
  auto count = name ? cache.flush_name(wire) : cache.flush_zone(wire);
  log::info("cache flushed: ", name ? "name " : "zone ", *normalized, " (", count, " entries)");
  return {count, ""};
}

}  // namespace diresolver
