#include "commands.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "readiness/validator.hpp"
#include "snippet/snippet.hpp"
#include "upstream/upstream_set.hpp"
#include "util/log.hpp"

namespace diresolver {

namespace {

std::string server_list(const ZoneSpec& zone) {
  std::string out;
  for (const auto& server : zone.servers)
    out += (out.empty() ? "" : ", ") + server.name + "=" + server.address.to_string();
  return out;
}

void print_routing_table(const Config& config) {
  std::cout << "config " << config.file << ": OK\n"
            << "customer " << config.customer << ", zone map " << config.zone_map_file << "\n";
  for (const auto& address : config.server.listen) std::cout << "listen " << address.to_string() << " udp+tcp\n";
  std::cout << std::left << std::setw(40) << "zone" << std::setw(12) << "route"
            << "servers\n";
  for (const auto& zone : config.zones)
    std::cout << std::setw(40) << zone.zone << std::setw(12) << route_label(zone) << server_list(zone) << "\n";
  bool has_default = !config.zones.empty() && config.zones.back().kind == RouteKind::fallback;
  if (!has_default)
    std::cout << std::setw(40) << "." << std::setw(12) << "refused"
              << "(no [default] set)\n";
}

// The config, or nullopt after printing its error (file, key, reason).
std::optional<Config> load_or_report(const std::string& config_file) {
  try {
    return load_config(config_file);
  } catch (const ConfigError& e) {
    log::error(e.what());
    return std::nullopt;
  }
}

}  // namespace

int config_test_command(const std::string& config_file) {
  auto config = load_or_report(config_file);
  if (!config) return 1;
  print_routing_table(*config);
  return 0;
}

int check_command(const std::string& config_file, bool json) {
  auto config = load_or_report(config_file);
  if (!config) return 1;
  UpstreamRegistry registry;
  auto report = validate_once(std::make_shared<Runtime>(std::move(*config), registry));
  std::cout << (json ? report.json() : report.text());
  return report.passed() ? 0 : 1;
}

int snippet_command(const std::string& config_file, const std::string& target) {
  // The target first: a typo is a usage error whatever the config says.
  auto parsed = parse_snippet_target(target);
  if (!parsed) {
    std::cerr << "diresolver: unknown snippet target \"" << target << "\" (valid: " << snippet_target_names() << ")\n";
    return 2;
  }
  auto config = load_or_report(config_file);
  if (!config) return 1;
  std::cout << forwarding_snippet(*config, *parsed);
  // Printed all the same, to be edited; a script must not take it as ready to run.
  if (auto gap = snippet_gap(*config, *parsed)) {
    std::cout.flush();
    log::error(*gap);
    return 1;
  }
  return 0;
}

int run_command(const std::string& config_file) {
  log::set_style(log::daemon_style());
  auto config = load_or_report(config_file);
  if (!config) return 1;
  log::info("diresolver ", DIRESOLVER_VERSION, " starting with ", config_file);
  return run_daemon(std::move(*config));
}

}  // namespace diresolver
