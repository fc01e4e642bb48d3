// What `diresolver setup` asks an administrator, and the answers file that
// carries the same values without a console (cloud-init writes it).
//
//   customer = "acme"
//   regions = ["amer"]
//   address = "dhcp"                 # or "10.0.0.53/24", with gateway and dns
//   gateway = "10.0.0.1"
//   dns = ["10.0.0.2"]               # the appliance's own lookups
//   client_networks = ["10.0.0.0/8"] # who may query it (acl.allow, loopback added)
//   default_upstream = ["10.0.0.2"]  # optional: where every other name goes
//   ssh = false
//   [region.amer]                    # optional lab override of a region's DI servers
//   servers = ["10.0.2.2:5301", "10.0.2.2:5302"]
#pragma once

#include <map>
#include <string>
#include <vector>

namespace diresolver {

struct SetupAnswers {
  std::string customer;
  std::vector<std::string> regions;
  std::string address = "dhcp";
  std::string gateway;
  std::vector<std::string> dns;
  std::vector<std::string> client_networks = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"};
  std::vector<std::string> default_upstream;
  bool ssh = false;
  std::string zone_map;  // empty: the installed one
  std::map<std::string, std::vector<std::string>> region_servers;

  bool dhcp() const { return address == "dhcp"; }
};

// Throws ConfigError naming the file, the key and the reason (syntax, types, unknown keys).
SetupAnswers read_answers(const std::string& file);

}  // namespace diresolver
