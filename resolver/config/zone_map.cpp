#include "config/zone_map.hpp"

#include <algorithm>
#include <cctype>

#include "config/settings_reader.hpp"
#include "config/toml_reader.hpp"
#include "dns/name.hpp"

namespace diresolver {

namespace {

ServerSpec read_server(const TomlTable& entry) {
  entry.check_keys({"name", "address"});
  ServerSpec server;
  server.name = entry.required_string("name");
  std::string why;
  auto address = SockAddr::parse(entry.required_string("address"), 53, &why);
  if (!address) entry.fail("address", why);
  server.address = *address;
  return server;
}

RegionInfo read_region(const TomlTable& entry) {
  entry.check_keys({"label", "source", "servers"});
  RegionInfo region;
  region.label = entry.required_string("label");
  // The label becomes part of the DI zone's name.
  if (!is_host_label(region.label) || std::any_of(region.label.begin(), region.label.end(), ::isupper))
    entry.fail("label", "\"" + region.label + "\" is not a lower-case DNS label (letters, digits and '-')");
  region.source = entry.string("source").value_or("");
  for (const auto& server : entry.table_array("servers")) region.servers.push_back(read_server(server));
  if (region.servers.empty()) entry.fail("servers", "a region needs at least one server");
  check_server_list(entry, "servers", region.servers);
  return region;
}

}  // namespace

ZoneMap load_zone_map(const std::string& file) {
  auto root = TomlTable::parse_file(file);
  TomlTable top(root, file, "");
  top.check_keys({"region"});
  ZoneMap map;
  for (const auto& entry : top.table_array("region")) {
    auto region = read_region(entry);
    if (find_region(map, region.label)) entry.fail("label", "duplicate region \"" + region.label + "\"");
    map.push_back(std::move(region));
  }
  if (map.empty()) top.fail("region", "the zone map lists no regions");
  return map;
}

const RegionInfo* find_region(const ZoneMap& map, const std::string& label) {
  for (const auto& region : map)
    if (region.label == label) return &region;
  return nullptr;
}

std::string region_labels(const ZoneMap& map) {
  std::string out;
  for (const auto& region : map) out += (out.empty() ? "" : ", ") + region.label;
  return out;
}

std::string di_zone(const std::string& customer, const std::string& region) {
  return customer + "." + region + ".wxc-di.webex.com.";
}

}  // namespace diresolver
