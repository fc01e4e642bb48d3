#include "setup/render.hpp"

#include <sstream>
#include <vector>

namespace diresolver {

namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return out + "]";
}

}  // namespace

std::string render_config(const SetupAnswers& a) {
  std::ostringstream out;
  out << "# Written by `diresolver setup`. Edit it and run `diresolver reload`, or run setup again.\n"
      << "customer = " << quoted(a.customer) << "\n"
      << "regions = " << array(a.regions) << "\n";
  if (!a.zone_map.empty()) out << "zone_map = " << quoted(a.zone_map) << "\n";
  out << "\n[server]\nlisten = [\"0.0.0.0:53\", \"[::]:53\"]\n"
      << "\n[acl]\n# loopback, then the client networks\n";
  std::vector<std::string> allow = {"127.0.0.0/8", "::1/128"};
  allow.insert(allow.end(), a.client_networks.begin(), a.client_networks.end());
  out << "allow = " << array(allow) << "\n"
      << "\n[admin]\n# read-only pages (/metrics for Prometheus, /readyz): on every address\n"
      << "listen = \"0.0.0.0:9553\"\n";
  if (!a.default_upstream.empty()) out << "\n[default]\nservers = " << array(a.default_upstream) << "\n";
  for (const auto& [region, servers] : a.region_servers)
    out << "\n[region." << region << "]\nservers = " << array(servers) << "\n";
  return out.str();
}

std::string render_network(const SetupAnswers& a) {
  std::ostringstream out;
  out << "# Written by `diresolver setup`: the appliance's Ethernet interface (every one, should it have more).\n"
      << "[Match]\nType=ether\nName=en* eth*\n\n[Network]\n";  // every Ethernet NIC: the appliance has one
  if (a.dhcp()) {
    out << "DHCP=yes\n";
  } else {
    out << "Address=" << a.address << "\n";
    if (!a.gateway.empty()) out << "Gateway=" << a.gateway << "\n";
  }
  for (const auto& server : a.dns) out << "DNS=" << server << "\n";
  return out.str();
}

std::string render_resolv_conf(const SetupAnswers& a) {
  std::string out = "# Written by `diresolver setup`: the appliance's own lookups.\n";
  for (const auto& server : a.dns) out += "nameserver " + server + "\n";
  return out;
}

}  // namespace diresolver
