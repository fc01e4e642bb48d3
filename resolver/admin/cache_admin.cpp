#include "admin/cache_admin.hpp"

#include "dns/name.hpp"
#include "util/log.hpp"

namespace diresolver {

namespace {

HttpReply flushed(size_t count) { return {200, "application/json", "{\"flushed\": " + std::to_string(count) + "}\n"}; }

}  // namespace

HttpReply flush_cache(PacketCache& cache, const HttpRequest& request) {
  auto outcome = flush_cache(cache, request.param("name"), request.param("zone"));
  if (!outcome.error.empty()) return {400, "text/plain; charset=utf-8", outcome.error + "\n"};
  return flushed(outcome.flushed);
}

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
