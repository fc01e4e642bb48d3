// TOML → Config: the identity (customer, regions), the settings sections, and
// the routing table (DI zones, [[forward]] zones, [default]). Every error
// names file, key and reason.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "config/config.hpp"
#include "config/settings_reader.hpp"
#include "config/toml_reader.hpp"
#include "config/zone_map.hpp"
#include "dns/name.hpp"

namespace diresolver {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
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
    if (!find_region(map, label)) top.fail(key, "unknown region \"" + label + "\" (known: " + region_labels(map) + ")");
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

// The options every zone table may carry besides its servers.
void read_zone_options(const TomlTable& table, ZoneSpec& zone) {
  zone.probe_name = zone.zone;
  if (auto name = table.string("probe_name")) {
    std::string why;
    auto normalized = normalize_zone_name(*name, &why);
    if (!normalized) table.fail("probe_name", why);
    zone.probe_name = *normalized;
  }
  zone.tcp_only = table.boolean("tcp_only").value_or(false);
}

// [region.<label>]: the operator's (or lab's) servers and options for a DI pair.
// An override stands in for the shipped server at the same position (a lab's
// 127.0.0.11 plays IAD), so it keeps that display name for logs and metrics.
ZoneSpec di_zone_spec(const Config& config, const ZoneMap& map, const std::string& region,
                      const std::optional<TomlTable>& overrides) {
  const auto& shipped = find_region(map, region)->servers;
  ZoneSpec zone{di_zone(config.customer, region), RouteKind::di, region, shipped, "", false};
  zone.probe_name = zone.zone;
  if (!overrides) return zone;
  overrides->check_keys({"servers", "probe_name", "tcp_only"});
  if (overrides->has("servers")) zone.servers = read_servers(*overrides, "servers");
  for (size_t i = 0; i < zone.servers.size() && i < shipped.size(); ++i) zone.servers[i].name = shipped[i].name;
  read_zone_options(*overrides, zone);
  return zone;
}

std::vector<ZoneSpec> di_zones(const TomlTable& top, const Config& config, const ZoneMap& map) {
  std::map<std::string, TomlTable> overrides;
  if (auto table = top.table("region")) {
    for (const auto& [label, entry] : table->subtables()) {
      if (std::find(config.regions.begin(), config.regions.end(), label) == config.regions.end())
        table->fail(label, "region \"" + label + "\" is not listed in regions");
      overrides.emplace(label, entry);
    }
  }
  std::vector<ZoneSpec> out;
  for (const auto& region : config.regions) {
    auto it = overrides.find(region);
    out.push_back(di_zone_spec(config, map, region, it == overrides.end() ? std::nullopt : std::optional(it->second)));
  }
  return out;
}

ZoneSpec read_forward_zone(const TomlTable& entry) {
  entry.check_keys({"zone", "servers", "probe_name", "tcp_only"});
  std::string why;
  auto zone = normalize_zone_name(entry.required_string("zone"), &why);
  if (!zone) entry.fail("zone", why);
  ZoneSpec spec{*zone, RouteKind::forward, "", read_servers(entry, "servers"), "", false};
  read_zone_options(entry, spec);
  return spec;
}

ZoneSpec read_default_zone(const TomlTable& table) {
  table.check_keys({"servers", "probe_name", "tcp_only"});
  ZoneSpec spec{".", RouteKind::fallback, "", read_servers(table, "servers"), "", false};
  read_zone_options(table, spec);
  return spec;
}

void check_unique_zones(const TomlTable& top, const std::vector<ZoneSpec>& zones,
                        const std::vector<std::string>& keys) {
  for (size_t i = 0; i < zones.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (zones[i].zone == zones[j].zone)
        throw ConfigError(top.file(), keys[i], "duplicate zone \"" + zones[i].zone + "\" (also " + keys[j] + ")");
}

void read_routes(const TomlTable& top, Config& config, const ZoneMap& map) {
  config.zones = di_zones(top, config, map);
  std::vector<std::string> keys;
  for (const auto& zone : config.zones) keys.push_back("regions (" + zone.region + ")");
  auto forwards = top.table_array("forward");
  for (size_t i = 0; i < forwards.size(); ++i) {
    config.zones.push_back(read_forward_zone(forwards[i]));
    keys.push_back("forward[" + std::to_string(i) + "].zone");
  }
  if (auto fallback = top.table("default")) {
    config.zones.push_back(read_default_zone(*fallback));
    keys.push_back("default");
  }
  check_unique_zones(top, config.zones, keys);
}

// A validation name is relative to every DI zone; joined, it must still be a DNS name.
void check_validation_names(const TomlTable& top, const Config& config) {
  auto table = top.table("readiness");
  if (!table) return;  // the default, "@ SOA", is the apex itself
  for (size_t i = 0; i < config.readiness.queries.size(); ++i) {
    const auto& name = config.readiness.queries[i].name;
    if (name == "@") continue;
    for (const auto& region : config.regions) {
      auto zone = di_zone(config.customer, region);
      if (!normalize_zone_name(name + "." + zone))
        table->fail("queries[" + std::to_string(i) + "]",
                    "\"" + name + "\" under " + zone + " is longer than a DNS name may be (255 octets)");
    }
  }
}

Config config_from(const toml::value& root, const std::string& file) {
  TomlTable top(root, file, "");
  top.check_keys({"customer", "regions", "zone_map", "server", "acl", "upstream", "ratelimit", "health", "cache", "readiness",
                  "log", "dnstap", "control", "admin", "region", "forward", "default"});
  Config config;
  config.file = file;
  config.customer = read_customer(top);
  config.zone_map_file = zone_map_path(top, file);
  auto map = load_zone_map(config.zone_map_file);
  config.regions = read_regions(top, map);
  config.server = read_server_settings(top);
  config.acl = read_acl(top);
  config.upstream = read_upstream_settings(top);
  config.ratelimit = read_ratelimit_settings(top);
  config.health = read_health_config(top);
  config.cache = read_cache_settings(top);
  config.readiness = read_readiness_settings(top);
  check_validation_names(top, config);
  config.log = read_log_settings(top);
  config.dnstap = read_dnstap_settings(top);
  config.control = read_control_settings(top);
  config.admin = read_admin_settings(top);
  read_routes(top, config, map);
  for (auto& zone : config.zones) zone.probe_type = config.health.probe_type;
  return config;
}

}  // namespace

Config load_config(const std::string& file) { return config_from(TomlTable::parse_file(file), file); }

Config load_config_text(const std::string& text, const std::string& file) {
  return config_from(TomlTable::parse_text(text, file), file);
}

}  // namespace diresolver
