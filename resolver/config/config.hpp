// The validated configuration: what `run` serves and `config-test` prints.
//
// Built once by load_config() from the TOML file and the zone map, then
// immutable; nothing outside config/ knows TOML. Defaults live here, inline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "util/enum_names.hpp"

namespace diresolver {

// A config or zone map problem: always names the file, the key and the reason.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string key, std::string reason)
      : std::runtime_error(file + ": " + key + ": " + reason),
        file_(std::move(file)),
        key_(std::move(key)),
        reason_(std::move(reason)) {}
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, key_, reason_;
};

struct CacheSettings {
  bool enabled = true;
  uint64_t max_entries = 200'000;
  uint64_t max_bytes = 64ull << 20;
  uint32_t min_ttl = 0;
  uint32_t max_ttl = 86'400;
  uint32_t max_negative_ttl = 3'600;
  uint32_t servfail_ttl = 0;
  // RFC 8767: serve expired answers for up to a day, with TTL 30, when the
  // upstreams cannot answer; a DI outage should not take a site's phones down.
  uint32_t stale_ttl = 30;
  uint32_t stale_max = 86'400;
  // Serve stale when no fresh answer came within this (RFC 8767's client
  // response timer, 1.8 s there; ours is below the 1.5 s query deadline).
  uint32_t stale_after_ms = 1'000;
  // Refresh an entry in the background when it is hit with less than this
  // share of its lifetime left.
  unsigned prefetch_percent = 10;
  // Shards, each with its own lock: enough that workers rarely meet.
  unsigned shards = 32;
};

// A zone's servers are tried in an order held in a fixed array (no allocation
// per query), so a zone lists at most this many.
inline constexpr size_t max_servers_per_zone = 8;

struct ServerSpec {
  std::string name;  // display label: a DI site name, or the address itself
  SockAddr address;
};

enum class RouteKind { di, forward, fallback };
template <>
inline constexpr auto enum_names<RouteKind> = names("di", "forward", "default");
static_assert(check_enum_names(RouteKind::fallback));

// How a query picks among a set's healthy servers (down ones always come last).
enum class Selection { lowest_rtt, sequential, round_robin };
template <>
inline constexpr auto enum_names<Selection> = names("lowest_rtt", "sequential", "round_robin");
static_assert(check_enum_names(Selection::round_robin));

struct ZoneSpec {
  std::string zone;  // absolute, lower case: "acme.amer.wxc-di.webex.com."
  RouteKind kind = RouteKind::forward;
  std::string region;  // DI zones only
  std::vector<ServerSpec> servers;
  std::string probe_name;  // absolute; default: the zone apex
  bool tcp_only = false;
  uint16_t probe_type = 6;  // SOA; filled from [health] probe_type
};

struct ServerSettings {
  std::vector<SockAddr> listen;  // UDP and TCP on each
  unsigned workers = 0;          // 0: one per core
  uint32_t tcp_idle_timeout_ms = 10'000;
  unsigned tcp_max_connections = 1024;  // per worker
  // One client address's share of a worker's connections: a NAT'd site has
  // few addresses, a runaway script on one host should not take them all.
  unsigned tcp_max_connections_per_client = 128;
  // Descriptors below the soft RLIMIT_NOFILE that client connections may not
  // take, so upstream sockets and health probes can still open at the limit.
  unsigned fd_reserve = 64;
  // Started as root (no systemd): switch to this user once every socket is bound.
  std::string user;
  // Listen on addresses not (yet) on this host: keepalived's service address.
  bool freebind = false;
};

struct UpstreamSettings {
  // One attempt's timeout is 4 x SRTT + 20 ms (RFC 6298's shape, the 20 ms
  // absorbing scheduling noise), kept within these bounds. DI servers answer
  // from a cache over a private link in tens of ms: half a second is trouble.
  uint32_t attempt_timeout_ms = 500;
  // The floor matters on fast paths: at 50 ms a loaded host's scheduling
  // stall timed out every attempt on both servers at once (failover bench),
  // marking healthy servers down. Hedging, not this, keeps answers fast.
  uint32_t attempt_timeout_min_ms = 200;
  // The whole client query; stub resolvers retry after 1 s (Windows) to 5 s
  // (glibc), so an answer, even SERVFAIL, should come well before that.
  uint32_t deadline_ms = 1500;
  Selection selection = Selection::lowest_rtt;
  // Hedge delay: 2 x SRTT + 2 ms within these bounds. The ceiling is what a
  // client waits at worst while a dead server is still believed up.
  uint32_t hedge_delay_min_ms = 5;
  uint32_t hedge_delay_max_ms = 50;
  // How many times one query may go to each healthy server: a datagram lost
  // on the way is sent again (the other servers first, each wait twice the
  // last) while the deadline leaves room, instead of answering SERVFAIL.
  unsigned tries = 2;
  uint32_t tcp_idle_timeout_ms = 10'000;
  // A connect to a server that neither accepts nor refuses fails its queries
  // (and backs off) after this, instead of holding a socket until the deadline.
  uint32_t tcp_connect_timeout_ms = 1'000;
  // Upstream transactions one worker keeps open at once (Unbound's
  // num-queries-per-thread); a query arriving when all are taken is dropped,
  // and the client's retry finds room once the slow ones end.
  unsigned max_in_flight = 4096;
};

enum class LimitAction { drop, refuse };
template <>
inline constexpr auto enum_names<LimitAction> = names("drop", "refuse");
static_assert(check_enum_names(LimitAction::refuse));

// Queries per second from one client prefix, as a token bucket (dnsdist's
// MaxQPSIPRule, Unbound's ip-ratelimit). Off by default: a site's own phones
// and servers are the clients, and a limit tuned wrong is an outage.
struct RateLimitSettings {
  uint32_t qps = 0;    // 0: off
  uint32_t burst = 0;  // 0: the same as qps
  unsigned ipv4_prefix = 32;
  unsigned ipv6_prefix = 64;
  LimitAction action = LimitAction::drop;
  // Clients tracked at once; beyond it, new clients go unlimited until idle ones are forgotten.
  unsigned max_clients = 100'000;
};

struct HealthConfig {
  // Probing each DI server every second costs nothing and, with fall = 3 and
  // live traffic feeding the same counters, marks a dead server down in about a
  // second; down servers are probed twice as often so a return is seen fast.
  uint32_t interval_ms = 1000;
  unsigned fall = 3;
  unsigned rise = 2;
  uint16_t probe_type = 6;  // SOA
};

// A validation query, relative to each DI domain ("@" is the apex).
struct ValidationQuery {
  std::string name = "@";
  uint16_t type = 6;         // SOA
  std::string text() const;  // "@ SOA"
};

struct ReadinessSettings {
  // false: no validation and no gate (READY=1 at once). For labs without DI
  // servers and for tests of other features; production keeps the gate.
  bool enabled = true;
  std::vector<ValidationQuery> queries = {ValidationQuery{}};
  uint32_t interval_ms = 60'000;  // re-validation once ready
  uint32_t retry_ms = 2'000;      // until the first success
  uint32_t timeout_ms = 2'000;    // per validation query
  // A DI server answering slower than this still passes, but the report says so.
  uint32_t slow_ms = 500;
  std::string on_ready;     // shell command when the gate opens or recovers
  std::string on_degraded;  // shell command when validation is lost after ready
};

// The query log for humans ([log]): one line per answer the miss path gives.
enum class QueryLogMode { none, failures, all };
template <>
inline constexpr auto enum_names<QueryLogMode> = names("none", "failures", "all");
static_assert(check_enum_names(QueryLogMode::all));

struct LogSettings {
  // failures: SERVFAIL, an upstream's REFUSED or SERVFAIL relayed, a stale answer, or slower than slow_ms.
  QueryLogMode queries = QueryLogMode::failures;
  uint32_t slow_ms = 1'000;
  uint32_t max_lines_per_second = 20;  // per worker; the rest is counted and summarised
};

// dnstap ([dnstap]): every query and answer, as binary messages for dnstap
// readers; on when `file` or `socket` is set (one of them).
struct DnstapSettings {
  std::string file;      // a Frame Streams file, started afresh when opened
  std::string socket;    // or the Unix socket of a collector (fstrm_capture, dnstap-receiver)
  std::string identity;  // "": the host name
  std::string version;   // "": "diresolver VERSION"
  bool client_queries = true;
  bool client_responses = true;
  bool forwarder_queries = true;
  bool forwarder_responses = true;
  uint32_t queue_size = 4096;  // messages waiting per worker; more are dropped and counted
  bool enabled() const { return !file.empty() || !socket.empty(); }
  bool operator==(const DnstapSettings&) const = default;
};

// The control socket `diresolver status|flush|reload` talk to ([control]).
struct ControlSettings {
  std::string socket = "/run/diresolver/control.sock";  // "": none
};

struct AdminSettings {
  // Not 9153: CoreDNS's metrics port, and CoreDNS may share a DNS host with us.
  static constexpr uint16_t default_port = 9553;
  std::optional<SockAddr> listen;  // HTTP: /metrics, /status; none: disabled
};

struct Config {
  std::string file;
  std::string customer;
  std::vector<std::string> regions;
  std::string zone_map_file;
  ServerSettings server;
  std::vector<Prefix> acl;
  UpstreamSettings upstream;
  RateLimitSettings ratelimit;
  HealthConfig health;
  CacheSettings cache;
  ReadinessSettings readiness;
  LogSettings log;
  DnstapSettings dnstap;
  ControlSettings control;
  AdminSettings admin;
  std::vector<ZoneSpec> zones;  // DI zones, then [[forward]] zones, then "." if [default]
};

// Loads and validates FILE; throws ConfigError.
Config load_config(const std::string& file);
// The same for `text` that is to become FILE (`diresolver setup` checks before it writes).
Config load_config_text(const std::string& text, const std::string& file);

}  // namespace diresolver
