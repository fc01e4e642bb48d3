#include "config/config_diff.hpp"

#include <algorithm>

namespace diresolver {

namespace {

const ZoneSpec* find_zone(const Config& config, const std::string& zone) {
  for (const auto& z : config.zones)
    if (z.zone == zone) return &z;
  return nullptr;
}

bool same_servers(const ZoneSpec& a, const ZoneSpec& b) {
  if (a.servers.size() != b.servers.size()) return false;
  for (size_t i = 0; i < a.servers.size(); ++i)
    if (!(a.servers[i].address == b.servers[i].address)) return false;
  return true;
}

bool same_listen(const ServerSettings& a, const ServerSettings& b) {
  if (a.listen.size() != b.listen.size()) return false;
  for (size_t i = 0; i < a.listen.size(); ++i)
    if (!(a.listen[i] == b.listen[i])) return false;
  return true;
}

bool same_cache(const CacheSettings& a, const CacheSettings& b) {
  return a.enabled == b.enabled && a.max_entries == b.max_entries && a.max_bytes == b.max_bytes &&
         a.min_ttl == b.min_ttl && a.max_ttl == b.max_ttl && a.max_negative_ttl == b.max_negative_ttl &&
         a.servfail_ttl == b.servfail_ttl && a.stale_ttl == b.stale_ttl && a.stale_max == b.stale_max &&
         a.stale_after_ms == b.stale_after_ms && a.prefetch_percent == b.prefetch_percent;
}

}  // namespace

std::vector<std::string> zones_to_flush(const Config& before, const Config& after) {
  std::vector<std::string> out;
  for (const auto& zone : after.zones) {
    const ZoneSpec* old = find_zone(before, zone.zone);
    if (!old || !same_servers(*old, zone)) out.push_back(zone.zone);
  }
  for (const auto& zone : before.zones)
    if (!find_zone(after, zone.zone)) out.push_back(zone.zone);
  return out;
}

std::vector<std::string> restart_only_changes(const Config& before, const Config& after) {
  std::vector<std::string> out;
  if (!same_listen(before.server, after.server)) out.push_back("server.listen");
  if (before.server.freebind != after.server.freebind) out.push_back("server.freebind");
  if (before.server.workers != after.server.workers) out.push_back("server.workers");
  if (before.server.tcp_idle_timeout_ms != after.server.tcp_idle_timeout_ms ||
      before.server.tcp_max_connections != after.server.tcp_max_connections ||
      before.server.tcp_max_connections_per_client != after.server.tcp_max_connections_per_client ||
      before.server.fd_reserve != after.server.fd_reserve)
    out.push_back("server (tcp limits)");
  if (!same_cache(before.cache, after.cache)) out.push_back("cache");
  // The gate decides once, at start, whether it validates at all.
  if (before.readiness.enabled != after.readiness.enabled) out.push_back("readiness.enabled");
  // Each worker's upstream TCP pool is made with it.
  if (before.upstream.tcp_idle_timeout_ms != after.upstream.tcp_idle_timeout_ms)
    out.push_back("upstream.tcp_idle_timeout_ms");
  if (before.upstream.tcp_connect_timeout_ms != after.upstream.tcp_connect_timeout_ms)
    out.push_back("upstream.tcp_connect_timeout_ms");
  bool admin_same = before.admin.listen.has_value() == after.admin.listen.has_value() &&
                    (!before.admin.listen || *before.admin.listen == *after.admin.listen);
  if (!admin_same) out.push_back("admin.listen");
  return out;
}

}  // namespace diresolver
