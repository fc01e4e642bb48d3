// The DI regional table (zones/wxc-di.toml): region label → its DNS pair.
//
// Data, not code: Cisco renames sites and adds regions, and operators must be
// able to follow without a rebuild.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace diresolver {

struct RegionInfo {
  std::string label;   // "amer": the DI domain is <customer>.amer.wxc-di.webex.com
  std::string source;  // where the addresses come from
  std::vector<ServerSpec> servers;
};

using ZoneMap = std::vector<RegionInfo>;

ZoneMap load_zone_map(const std::string& file);  // throws ConfigError
const RegionInfo* find_region(const ZoneMap& map, const std::string& label);
std::string region_labels(const ZoneMap& map);  // "amer, emea, ..." for error messages

// The DI domain of a customer in a region, absolute and lower case.
std::string di_zone(const std::string& customer, const std::string& region);

}  // namespace diresolver
