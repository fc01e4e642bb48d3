// Readers for the config's settings sections ([server], [acl], [upstream],
// [health], [admin]): each takes the top-level table and returns its struct
// with defaults filled in; errors are ConfigErrors naming file and key.
#pragma once

#include "config/config.hpp"
#include "config/toml_reader.hpp"

namespace diresolver {

ServerSettings read_server_settings(const TomlTable& top);
std::vector<Prefix> read_acl(const TomlTable& top);
UpstreamSettings read_upstream_settings(const TomlTable& top);
RateLimitSettings read_ratelimit_settings(const TomlTable& top);
HealthConfig read_health_config(const TomlTable& top);
CacheSettings read_cache_settings(const TomlTable& top);
ReadinessSettings read_readiness_settings(const TomlTable& top);
AdminSettings read_admin_settings(const TomlTable& top);
LogSettings read_log_settings(const TomlTable& top);
DnstapSettings read_dnstap_settings(const TomlTable& top);
ControlSettings read_control_settings(const TomlTable& top);

// At most max_servers_per_zone servers, each address once (two entries for
// one server would share its id, health and counters).
void check_server_list(const TomlTable& table, const std::string& key, const std::vector<ServerSpec>& servers);

// A list of server addresses (default port 53) at `key`; required, 1..8 entries.
std::vector<ServerSpec> read_servers(const TomlTable& table, const std::string& key);

}  // namespace diresolver
