// The validated configuration: what `run` serves and `config-test` prints.
//
// Built once by load_config() from the TOML file and the zone map, then
// immutable; nothing outside config/ knows TOML. Defaults live here, inline.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "net/address.hpp"

namespace diresolver {

// A config or zone map problem: always names the file, the key and the reason.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string key, std::string reason)
      : std::runtime_error(file + ": " + key + ": " + reason),
        file_(std::move(file)), key_(std::move(key)), reason_(std::move(reason)) {}
  const std::string& file() const { return file_; }
  const std::string& key() const { return key_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, key_, reason_;
};

struct ServerSpec {
  std::string name;  // display label: a DI site name, or the address itself
  SockAddr address;
};

enum class RouteKind { di, forward, fallback };

struct ZoneSpec {
  std::string zone;    // absolute, lower case: "acme.amer.wxc-di.webex.com."
  RouteKind kind = RouteKind::forward;
  std::string region;  // DI zones only
  std::vector<ServerSpec> servers;
};

struct ServerSettings {
  std::vector<SockAddr> listen;      // UDP and TCP on each
  unsigned workers = 0;              // 0: one per core
  uint32_t tcp_idle_timeout_ms = 10'000;
  unsigned tcp_max_connections = 1024;  // per worker
};

struct UpstreamSettings {
  // One server's turn before the next is tried: DI servers answer from a cache
  // over a private link in tens of ms, so half a second already means trouble.
  uint32_t attempt_timeout_ms = 500;
};

struct Config {
  std::string file;
  std::string customer;
  std::vector<std::string> regions;
  std::string zone_map_file;
  ServerSettings server;
  std::vector<Prefix> acl;
  UpstreamSettings upstream;
  std::vector<ZoneSpec> zones;  // DI zones, then [[forward]] zones, then "." if [default]
};

// Loads and validates FILE; throws ConfigError.
Config load_config(const std::string& file);

}  // namespace diresolver
