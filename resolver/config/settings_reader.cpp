#include "config/settings_reader.hpp"

#include <ldns/ldns.h>
#include <pwd.h>

#include "dns/name.hpp"
#include "dns/rr_type.hpp"

namespace diresolver {

namespace {

SockAddr read_address(const TomlTable& table, const std::string& key, const std::string& text,
                      uint16_t default_port = 53) {
  std::string why;
  auto address = SockAddr::parse(text, default_port, &why);
  if (!address) table.fail(key, "bad address \"" + text + "\": " + why);
  return *address;
}

uint16_t read_type(const TomlTable& table, const std::string& key, const std::string& text) {
  auto type = ldns_get_rr_type_by_name(text.c_str());
  if (type == 0) table.fail(key, "\"" + text + "\" is not a DNS record type");
  return static_cast<uint16_t>(type);
}

Selection parse_selection(const TomlTable& table, const std::string& text) {
  if (auto selection = enum_from_name<Selection>(text)) return *selection;
  table.fail("selection", "\"" + text + "\" is not one of " + names_joined<Selection>());
}

// The enum named at `key`, if the key is set; any other text fails with the choices.
template <class E>
std::optional<E> read_enum(const TomlTable& table, const std::string& key) {
  auto text = table.string(key);
  if (!text) return std::nullopt;
  if (auto value = enum_from_name<E>(*text)) return value;
  table.fail(key, "expected " + names_quoted_choice<E>() + ", got \"" + *text + "\"");
}

enum class PathKind { file, unix_socket };

// An absolute path at `key`, if the key is set ("" stays ""); a Unix socket's must fit sockaddr_un.
std::optional<std::string> read_path(const TomlTable& table, const std::string& key, PathKind kind) {
  auto path = table.string(key);
  if (!path || path->empty()) return path;
  if (path->front() != '/') table.fail(key, "expected an absolute path, got \"" + *path + "\"");
  if (kind == PathKind::unix_socket && path->size() >= 108)
    table.fail(key, "longer than a Unix socket path may be (107 bytes)");
  return path;
}

void check_order(const TomlTable& table, const char* low_key, uint32_t low, const char* high_key, uint32_t high) {
  if (low > high) table.fail(low_key, std::string("must not exceed ") + high_key);
}

}  // namespace

std::vector<ServerSpec> read_servers(const TomlTable& table, const std::string& key) {
  auto texts = table.string_array(key);
  if (!texts) table.fail(key, "missing required key");
  if (texts->empty()) table.fail(key, "needs at least one server");
  std::vector<ServerSpec> out;
  for (size_t i = 0; i < texts->size(); ++i) {
    auto address = read_address(table, key + "[" + std::to_string(i) + "]", (*texts)[i]);
    out.push_back({address.to_string(), address});
  }
  check_server_list(table, key, out);
  return out;
}

void check_server_list(const TomlTable& table, const std::string& key, const std::vector<ServerSpec>& servers) {
  if (servers.size() > max_servers_per_zone)
    table.fail(key, "at most " + std::to_string(max_servers_per_zone) + " servers per zone");
  for (size_t i = 0; i < servers.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (servers[i].address == servers[j].address)
        table.fail(
            key + "[" + std::to_string(i) + "]",
            "server " + servers[i].address.to_string() + " listed twice (also " + key + "[" + std::to_string(j) + "])");
}

ServerSettings read_server_settings(const TomlTable& top) {
  ServerSettings out;
  auto table = top.table("server");
  std::vector<std::string> listen = {"127.0.0.1:53", "[::1]:53"};
  if (table) {
    table->check_keys({"listen", "workers", "tcp_idle_timeout_ms", "tcp_max_connections",
                       "tcp_max_connections_per_client", "fd_reserve", "user", "freebind"});
    listen = table->string_array("listen").value_or(listen);
    if (listen.empty()) table->fail("listen", "name at least one address");
    out.workers = table->integer_or("workers", out.workers, 0, 256);
    out.tcp_idle_timeout_ms = table->integer_or("tcp_idle_timeout_ms", out.tcp_idle_timeout_ms, 100, 3'600'000);
    out.tcp_max_connections = table->integer_or("tcp_max_connections", out.tcp_max_connections, 1, 65'535);
    out.tcp_max_connections_per_client = table->integer_or("tcp_max_connections_per_client",
                                                           out.tcp_max_connections_per_client, 1, 65'535);
    out.fd_reserve = table->integer_or("fd_reserve", out.fd_reserve, 0, 65'535);
    out.user = table->string("user").value_or("");
    out.freebind = table->boolean("freebind").value_or(out.freebind);
    if (!out.user.empty() && !getpwnam(out.user.c_str())) table->fail("user", "no such user \"" + out.user + "\"");
  }
  for (size_t i = 0; i < listen.size(); ++i)
    out.listen.push_back(read_address(top, "server.listen[" + std::to_string(i) + "]", listen[i]));
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
  table->check_keys({"attempt_timeout_ms", "attempt_timeout_min_ms", "deadline_ms", "selection", "hedge_delay_min_ms",
                     "hedge_delay_max_ms", "tries", "tcp_idle_timeout_ms", "tcp_connect_timeout_ms", "max_in_flight"});
  out.attempt_timeout_ms = table->integer_or("attempt_timeout_ms", out.attempt_timeout_ms, 10, 10'000);
  out.attempt_timeout_min_ms = table->integer_or("attempt_timeout_min_ms", out.attempt_timeout_min_ms, 1, 10'000);
  out.deadline_ms = table->integer_or("deadline_ms", out.deadline_ms, 10, 30'000);
  out.hedge_delay_min_ms = table->integer_or("hedge_delay_min_ms", out.hedge_delay_min_ms, 1, 10'000);
  out.hedge_delay_max_ms = table->integer_or("hedge_delay_max_ms", out.hedge_delay_max_ms, 1, 10'000);
  out.tcp_idle_timeout_ms = table->integer_or("tcp_idle_timeout_ms", out.tcp_idle_timeout_ms, 100, 3'600'000);
  out.tries = table->integer_or("tries", out.tries, 1, 5);
  out.tcp_connect_timeout_ms = table->integer_or("tcp_connect_timeout_ms", out.tcp_connect_timeout_ms, 10, 60'000);
  out.max_in_flight = table->integer_or("max_in_flight", out.max_in_flight, 1, 1'000'000);
  if (auto selection = table->string("selection")) out.selection = parse_selection(*table, *selection);
  check_order(*table, "attempt_timeout_min_ms", out.attempt_timeout_min_ms, "attempt_timeout_ms",
              out.attempt_timeout_ms);
  check_order(*table, "hedge_delay_min_ms", out.hedge_delay_min_ms, "hedge_delay_max_ms", out.hedge_delay_max_ms);
  return out;
}

RateLimitSettings read_ratelimit_settings(const TomlTable& top) {
  RateLimitSettings out;
  auto table = top.table("ratelimit");
  if (!table) return out;
  table->check_keys({"qps", "burst", "ipv4_prefix", "ipv6_prefix", "action", "max_clients"});
  out.qps = table->integer_or("qps", out.qps, 0, 10'000'000);
  out.burst = table->integer_or("burst", out.burst, 0, 10'000'000);
  out.ipv4_prefix = table->integer_or("ipv4_prefix", out.ipv4_prefix, 8, 32);
  out.ipv6_prefix = table->integer_or("ipv6_prefix", out.ipv6_prefix, 16, 128);
  out.max_clients = table->integer_or("max_clients", out.max_clients, 16, 10'000'000);
  out.action = read_enum<LimitAction>(*table, "action").value_or(out.action);
  return out;
}

ControlSettings read_control_settings(const TomlTable& top) {
  ControlSettings out;
  auto table = top.table("control");
  if (!table) return out;
  table->check_keys({"socket"});
  out.socket = read_path(*table, "socket", PathKind::unix_socket).value_or(out.socket);
  return out;
}

LogSettings read_log_settings(const TomlTable& top) {
  LogSettings out;
  auto table = top.table("log");
  if (!table) return out;
  table->check_keys({"queries", "slow_ms", "max_lines_per_second"});
  out.slow_ms = table->integer_or("slow_ms", out.slow_ms, 1, 60'000);
  out.max_lines_per_second = table->integer_or("max_lines_per_second", out.max_lines_per_second, 1, 1'000'000);
  out.queries = read_enum<QueryLogMode>(*table, "queries").value_or(out.queries);
  return out;
}

DnstapSettings read_dnstap_settings(const TomlTable& top) {
  DnstapSettings out;
  auto table = top.table("dnstap");
  if (!table) return out;
  table->check_keys({"file", "socket", "identity", "version", "client_queries", "client_responses",
                     "forwarder_queries", "forwarder_responses", "queue_size"});
  out.file = read_path(*table, "file", PathKind::file).value_or("");
  out.socket = read_path(*table, "socket", PathKind::unix_socket).value_or("");
  if (!out.file.empty() && !out.socket.empty()) table->fail("socket", "set either file or socket, not both");
  out.identity = table->string("identity").value_or("");
  out.version = table->string("version").value_or("");
  out.client_queries = table->boolean("client_queries").value_or(out.client_queries);
  out.client_responses = table->boolean("client_responses").value_or(out.client_responses);
  out.forwarder_queries = table->boolean("forwarder_queries").value_or(out.forwarder_queries);
  out.forwarder_responses = table->boolean("forwarder_responses").value_or(out.forwarder_responses);
  // libfstrm's queues hold a power of two, 2 to 16384.
  out.queue_size = table->integer_or("queue_size", out.queue_size, 2, 16384);
  if (out.queue_size & (out.queue_size - 1)) table->fail("queue_size", "expected a power of two, got " + std::to_string(out.queue_size));
  return out;
}

HealthConfig read_health_config(const TomlTable& top) {
  HealthConfig out;
  auto table = top.table("health");
  if (!table) return out;
  table->check_keys({"interval_ms", "fall", "rise", "probe_type"});
  out.interval_ms = table->integer_or("interval_ms", out.interval_ms, 50, 3'600'000);
  out.fall = table->integer_or("fall", out.fall, 1, 100);
  out.rise = table->integer_or("rise", out.rise, 1, 100);
  if (auto type = table->string("probe_type")) out.probe_type = read_type(*table, "probe_type", *type);
  return out;
}

CacheSettings read_cache_settings(const TomlTable& top) {
  CacheSettings out;
  auto table = top.table("cache");
  if (!table) return out;
  table->check_keys({"enabled", "max_entries", "max_bytes", "min_ttl", "max_ttl", "max_negative_ttl", "servfail_ttl",
                     "stale_ttl", "stale_max", "stale_after_ms", "prefetch_percent"});
  constexpr int64_t week = 7 * 86'400;
  out.enabled = table->boolean("enabled").value_or(out.enabled);
  out.max_entries = table->integer_or("max_entries", out.max_entries, 1, int64_t{1} << 32);
  out.max_bytes = table->integer_or("max_bytes", out.max_bytes, 4096, int64_t{1} << 40);
  out.min_ttl = table->integer_or("min_ttl", out.min_ttl, 0, week);
  out.max_ttl = table->integer_or("max_ttl", out.max_ttl, 1, week);
  out.max_negative_ttl = table->integer_or("max_negative_ttl", out.max_negative_ttl, 0, week);
  out.servfail_ttl = table->integer_or("servfail_ttl", out.servfail_ttl, 0, 300);  // RFC 2308 §7.1: 5 min at most
  out.stale_ttl = table->integer_or("stale_ttl", out.stale_ttl, 1, 3600);
  out.stale_max = table->integer_or("stale_max", out.stale_max, 0, 30 * 86'400);
  out.stale_after_ms = table->integer_or("stale_after_ms", out.stale_after_ms, 0, 30'000);
  out.prefetch_percent = table->integer_or("prefetch_percent", out.prefetch_percent, 0, 90);
  check_order(*table, "min_ttl", out.min_ttl, "max_ttl", out.max_ttl);
  return out;
}

namespace {

ValidationQuery parse_validation_query(const TomlTable& table, const std::string& key, const std::string& text) {
  auto space = text.find(' ');
  if (space == std::string::npos || text.find_first_not_of(' ', space) == std::string::npos)
    table.fail(key, "\"" + text + "\" should be \"NAME TYPE\", NAME relative to the DI domain (\"@\" is the apex)");
  ValidationQuery query{text.substr(0, space), read_type(table, key, text.substr(text.find_first_not_of(' ', space)))};
  if (query.name != "@" && !normalize_zone_name(query.name + ".example"))
    table.fail(key, "\"" + query.name + "\" is not a valid relative name");
  return query;
}

}  // namespace

std::string ValidationQuery::text() const { return name + " " + rr_type_text(type); }

ReadinessSettings read_readiness_settings(const TomlTable& top) {
  ReadinessSettings out;
  auto table = top.table("readiness");
  if (!table) return out;
  table->check_keys(
      {"enabled", "queries", "interval_ms", "retry_ms", "timeout_ms", "slow_ms", "on_ready", "on_degraded"});
  out.enabled = table->boolean("enabled").value_or(out.enabled);
  if (auto queries = table->string_array("queries")) {
    if (queries->empty()) table->fail("queries", "name at least one validation query");
    out.queries.clear();
    for (size_t i = 0; i < queries->size(); ++i)
      out.queries.push_back(parse_validation_query(*table, "queries[" + std::to_string(i) + "]", (*queries)[i]));
  }
  out.interval_ms = table->integer_or("interval_ms", out.interval_ms, 100, 86'400'000);
  out.retry_ms = table->integer_or("retry_ms", out.retry_ms, 100, 3'600'000);
  out.timeout_ms = table->integer_or("timeout_ms", out.timeout_ms, 10, 30'000);
  out.slow_ms = table->integer_or("slow_ms", out.slow_ms, 1, 30'000);
  out.on_ready = table->string("on_ready").value_or("");
  out.on_degraded = table->string("on_degraded").value_or("");
  return out;
}

AdminSettings read_admin_settings(const TomlTable& top) {
  AdminSettings out;
  std::string listen = "127.0.0.1:" + std::to_string(AdminSettings::default_port);
  if (auto table = top.table("admin")) {
    table->check_keys({"listen"});
    listen = table->string("listen").value_or(listen);
    if (listen.empty()) return out;  // "" turns the admin endpoint off
    out.listen = read_address(*table, "listen", listen, AdminSettings::default_port);
    return out;
  }
  out.listen = *SockAddr::parse(listen, AdminSettings::default_port);
  return out;
}

}  // namespace diresolver
