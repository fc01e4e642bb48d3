// The outcome of one validation round: every check (region × server ×
// transport × query) and each region's verdict. A region validates when at
// least one server passes all its checks, and is degraded when some server
// does not. The report renders as the text `diresolver check` prints, as
// JSON, and as one line of reasons for sd_notify STATUS= and /readyz.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "readiness/check_result.hpp"

namespace diresolver {

struct CheckLine {
  std::string server;
  std::string address;
  std::string transport;  // "udp" or "tcp"
  std::string query;      // "@ SOA"
  CheckResult result = CheckResult::timeout;
  double rtt_ms = 0;
};

enum class RegionState { validated, degraded, failed };
template <>
inline constexpr auto enum_names<RegionState> = names("validated", "degraded", "failed");
static_assert(check_enum_names(RegionState::failed));

struct RegionReport {
  std::string region;
  std::string zone;
  std::vector<CheckLine> checks;

  RegionState state() const;
  size_t servers() const;
  size_t servers_passing() const;
};

struct ValidationReport {
  std::vector<RegionReport> regions;

  bool passed() const;  // every region validates (degraded ones included)
  std::string text() const;
  std::string json() const;
  std::string reasons() const;  // "" when every server of every region passes
};

}  // namespace diresolver
