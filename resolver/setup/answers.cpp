#include "setup/answers.hpp"

#include <filesystem>

#include "config/toml_reader.hpp"

namespace diresolver {

SetupAnswers read_answers(const std::string& file) {
  auto root = TomlTable::parse_file(file);
  TomlTable top(root, file, "");
  top.check_keys({"customer", "regions", "address", "gateway", "dns", "client_networks", "default_upstream", "ssh",
                  "zone_map", "region"});
  SetupAnswers out;
  out.customer = top.required_string("customer");
  out.regions = top.string_array("regions").value_or(out.regions);
  if (out.regions.empty()) top.fail("regions", "name at least one region");
  out.address = top.string("address").value_or(out.address);
  out.gateway = top.string("gateway").value_or("");
  out.dns = top.string_array("dns").value_or(out.dns);
  out.client_networks = top.string_array("client_networks").value_or(out.client_networks);
  out.default_upstream = top.string_array("default_upstream").value_or(out.default_upstream);
  out.ssh = top.boolean("ssh").value_or(false);
  // Relative to the answers file, as the config's own zone_map is to the config file.
  if (auto map = top.string("zone_map")) out.zone_map = std::filesystem::absolute(std::filesystem::path(file).parent_path() / *map);
  if (auto regions = top.table("region")) {
    for (const auto& [name, table] : regions->subtables()) {
      table.check_keys({"servers"});
      out.region_servers[name] = table.string_array("servers").value_or(std::vector<std::string>{});
    }
  }
  return out;
}

}  // namespace diresolver
