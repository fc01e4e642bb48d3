#include "admin/cache_admin.hpp"

#include "dns/name.hpp"
#include "util/log.hpp"

namespace diresolver {

namespace {

HttpReply flushed(size_t count) { return {200, "application/json", "{\"flushed\": " + std::to_string(count) + "}\n"}; }

}  // namespace

HttpReply flush_cache(PacketCache& cache, const HttpRequest& request) {
  auto name = request.param("name");
  auto zone = request.param("zone");
  if (name && zone) return {400, "text/plain; charset=utf-8", "give name or zone, not both\n"};
  if (!name && !zone) {
    auto count = cache.stats().entries;
    cache.flush_all();
    log::info("cache flushed: everything (", count, " entries)");
    return flushed(count);
  }
  std::string why;
  auto normalized = normalize_zone_name(name ? *name : *zone, &why);
  if (!normalized) return {400, "text/plain; charset=utf-8", (name ? "name: " : "zone: ") + why + "\n"};
  auto wire = zone_name_to_wire(*normalized);
  auto count = name ? cache.flush_name(wire) : cache.flush_zone(wire);
  log::info("cache flushed: ", name ? "name " : "zone ", *normalized, " (", count, " entries)");
  return flushed(count);
}

}  // namespace diresolver
