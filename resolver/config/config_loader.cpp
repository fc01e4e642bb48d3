// TOML → Config. Each section has one reader; every error names file, key, reason.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "config/config.hpp"
#include "config/toml_reader.hpp"
#include "config/zone_map.hpp"
#include "dns/name.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<ServerSpec> read_servers(const TomlTable& table, const std::string& key) {
  auto texts = table.string_array(key);
  if (!texts) table.fail(key, "missing required key");
  if (texts->empty()) table.fail(key, "needs at least one server");
  if (texts->size() > ServerOrder::capacity)
    table.fail(key, "at most " + std::to_string(ServerOrder::capacity) + " servers per zone");
  std::vector<ServerSpec> out;
  for (size_t i = 0; i < texts->size(); ++i) {
    std::string why;
    auto address = SockAddr::parse((*texts)[i], 53, &why);
    auto item_key = key + "[" + std::to_string(i) + "]";
    if (!address) table.fail(item_key, "bad address \"" + (*texts)[i] + "\": " + why);
    out.push_back({address->to_string(), *address});
  }
  return out;
}

std::string read_customer(const TomlTable& top) {
  auto customer = lower(top.required_string("customer"));
  if (!is_host_label(customer))
    top.fail("customer", "\"" + customer +
                             "\" is not a valid DNS label (letters, digits and '-', 1 to 63 "
                             "characters, not starting or ending with '-')");
  return customer;
}

std::vector<std::string> read_regions(const TomlTable& top, const ZoneMap& map) {
  auto regions = top.string_array("regions");
  if (!regions) top.fail("regions", "missing required key");
  if (regions->empty()) top.fail("regions", "name at least one region");
  for (size_t i = 0; i < regions->size(); ++i) {
    auto& label = (*regions)[i] = lower((*regions)[i]);
    auto key = "regions[" + std::to_string(i) + "]";
    if (!find_region(map, label))
      top.fail(key, "unknown region \"" + label + "\" (known: " + region_labels(map) + ")");
    if (std::find(regions->begin(), regions->begin() + static_cast<long>(i), label) !=
        regions->begin() + static_cast<long>(i))
      top.fail(key, "region \"" + label + "\" listed twice");
  }
  return *regions;
}

std::string zone_map_path(const TomlTable& top, const std::string& file) {
  auto path = top.string("zone_map");
  if (!path) return DIRESOLVER_ZONE_MAP_DEFAULT;
  std::filesystem::path p(*path);
  if (p.is_relative()) p = std::filesystem::path(file).parent_path() / p;
  return p.lexically_normal().string();
}

ServerSettings read_server_settings(const TomlTable& top) {
  ServerSettings out;
  auto table = top.table("server");
  std::vector<std::string> listen = {"127.0.0.1:53", "[::1]:53"};
  if (table) {
    table->check_keys({"listen", "workers", "tcp_idle_timeout_ms", "tcp_max_connections"});
    listen = table->string_array("listen").value_or(listen);
    if (listen.empty()) table->fail("listen", "name at least one address");
    out.workers = static_cast<unsigned>(table->integer("workers", 0, 256).value_or(out.workers));
    out.tcp_idle_timeout_ms = static_cast<uint32_t>(
        table->integer("tcp_idle_timeout_ms", 100, 3'600'000).value_or(out.tcp_idle_timeout_ms));
    out.tcp_max_connections = static_cast<unsigned>(
        table->integer("tcp_max_connections", 1, 65'535).value_or(out.tcp_max_connections));
  }
  for (size_t i = 0; i < listen.size(); ++i) {
    std::string why;
    auto address = SockAddr::parse(listen[i], 53, &why);
    if (!address) top.fail("server.listen[" + std::to_string(i) + "]", "bad address \"" + listen[i] + "\": " + why);
    out.listen.push_back(*address);
  }
  return out;
}

std::vector<Prefix> read_acl(const TomlTable& top) {
  auto table = top.table("acl");
  if (!table) return default_acl_prefixes();
  table->check_keys({"allow"});
  auto allow = table->string_array("allow");
  if (!allow) return default_acl_prefixes();
  if (allow->empty()) table->fail("allow", "an empty list would refuse every client");
  std::vector<Prefix> out;
  for (size_t i = 0; i < allow->size(); ++i) {
    std::string why;
    auto prefix = Prefix::parse((*allow)[i], &why);
    if (!prefix) table->fail("allow[" + std::to_string(i) + "]", "bad prefix \"" + (*allow)[i] + "\": " + why);
    out.push_back(*prefix);
  }
  return out;
}

UpstreamSettings read_upstream_settings(const TomlTable& top) {
  UpstreamSettings out;
  auto table = top.table("upstream");
  if (!table) return out;
  table->check_keys({"attempt_timeout_ms"});
  out.attempt_timeout_ms = static_cast<uint32_t>(
      table->integer("attempt_timeout_ms", 10, 10'000).value_or(out.attempt_timeout_ms));
  return out;
}

// [region.<label>] servers = [...]: the operator's (or lab's) addresses for a DI pair.
std::map<std::string, std::vector<ServerSpec>> read_region_overrides(
    const TomlTable& top, const std::vector<std::string>& regions) {
  std::map<std::string, std::vector<ServerSpec>> out;
  auto table = top.table("region");
  if (!table) return out;
  for (const auto& [label, entry] : table->subtables()) {
    if (std::find(regions.begin(), regions.end(), label) == regions.end())
      table->fail(label, "region \"" + label + "\" is not listed in regions");
    entry.check_keys({"servers"});
    out[label] = read_servers(entry, "servers");
  }
  return out;
}

std::vector<ZoneSpec> di_zones(const Config& config, const ZoneMap& map,
                               const std::map<std::string, std::vector<ServerSpec>>& overrides) {
  std::vector<ZoneSpec> out;
  for (const auto& region : config.regions) {
    const auto& shipped = find_region(map, region)->servers;
    auto it = overrides.find(region);
    auto servers = it != overrides.end() ? it->second : shipped;
    // An override stands in for the shipped server at the same position (a lab's
    // 127.0.0.11 plays IAD), so it keeps that display name for logs and metrics.
    for (size_t i = 0; i < servers.size() && i < shipped.size(); ++i) servers[i].name = shipped[i].name;
    out.push_back({di_zone(config.customer, region), RouteKind::di, region, std::move(servers)});
  }
  return out;
}

ZoneSpec read_forward_zone(const TomlTable& entry) {
  entry.check_keys({"zone", "servers"});
  std::string why;
  auto zone = normalize_zone_name(entry.required_string("zone"), &why);
  if (!zone) entry.fail("zone", why);
  return {*zone, RouteKind::forward, "", read_servers(entry, "servers")};
}

void check_unique_zones(const TomlTable& top, const std::vector<ZoneSpec>& zones,
                        const std::vector<std::string>& keys) {
  for (size_t i = 0; i < zones.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (zones[i].zone == zones[j].zone)
        throw ConfigError(top.file(), keys[i],
                          "duplicate zone \"" + zones[i].zone + "\" (also " + keys[j] + ")");
}

void read_routes(const TomlTable& top, Config& config, const ZoneMap& map) {
  config.zones = di_zones(config, map, read_region_overrides(top, config.regions));
  std::vector<std::string> keys;
  for (const auto& zone : config.zones) keys.push_back("regions (" + zone.region + ")");
  auto forwards = top.table_array("forward");
  for (size_t i = 0; i < forwards.size(); ++i) {
    config.zones.push_back(read_forward_zone(forwards[i]));
    keys.push_back("forward[" + std::to_string(i) + "].zone");
  }
  if (auto fallback = top.table("default")) {
    fallback->check_keys({"servers"});
    config.zones.push_back({".", RouteKind::fallback, "", read_servers(*fallback, "servers")});
    keys.push_back("default");
  }
  check_unique_zones(top, config.zones, keys);
}

}  // namespace

Config load_config(const std::string& file) {
  auto root = TomlTable::parse_file(file);
  TomlTable top(root, file, "");
  top.check_keys({"customer", "regions", "zone_map", "server", "acl", "upstream", "region",
                  "forward", "default"});
  Config config;
  config.file = file;
  config.customer = read_customer(top);
  config.zone_map_file = zone_map_path(top, file);
  auto map = load_zone_map(config.zone_map_file);
  config.regions = read_regions(top, map);
  config.server = read_server_settings(top);
  config.acl = read_acl(top);
  config.upstream = read_upstream_settings(top);
  read_routes(top, config, map);
  return config;
}

}  // namespace diresolver
