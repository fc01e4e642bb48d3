// What a reload changes, and what it cannot. A new config is applied to the
// routing, upstream sets, health and upstream settings of the running
// daemon; listen addresses, worker count, cache sizing and the admin address
// need a restart (as do readiness.enabled and upstream.tcp_idle_timeout_ms),
// and a reload that changes them says so in the log.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace diresolver {

// Absolute zone names (wire-independent text) whose answers may now differ:
// zones added, removed, or whose server addresses changed.
std::vector<std::string> zones_to_flush(const Config& before, const Config& after);

// Settings that changed but only take effect after a restart, for the log.
std::vector<std::string> restart_only_changes(const Config& before, const Config& after);

}  // namespace diresolver
