#include "readiness/report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace diresolver {

namespace {

// Server → whether all its checks pass, in first-seen order.
std::vector<std::pair<std::string, bool>> server_verdicts(const RegionReport& region) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& check : region.checks) {
    auto it = std::find_if(out.begin(), out.end(), [&](auto& v) { return v.first == check.server; });
    if (it == out.end()) {
      out.emplace_back(check.server, true);
      it = out.end() - 1;
    }
    it->second = it->second && passes(check.result);
  }
  return out;
}

std::string format_rtt(const CheckLine& check) {
  if (!passes(check.result) && check.rtt_ms == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", check.rtt_ms);
  return buf;
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

}  // namespace

size_t RegionReport::servers() const { return server_verdicts(*this).size(); }

size_t RegionReport::servers_passing() const {
  size_t n = 0;
  for (const auto& [server, ok] : server_verdicts(*this)) n += ok;
  return n;
}

RegionState RegionReport::state() const {
  auto passing = servers_passing();
  if (passing == 0) return RegionState::failed;
  return passing == servers() ? RegionState::validated : RegionState::degraded;
}

bool ValidationReport::passed() const {
  for (const auto& region : regions)
    if (region.state() == RegionState::failed) return false;
  return !regions.empty();
}

std::string ValidationReport::text() const {
  std::ostringstream out;
  out << pad("REGION", 8) << pad("SERVER", 8) << pad("ADDRESS", 22) << pad("TRANSPORT", 10) << pad("QUERY", 24)
      << pad("RESULT", 16) << pad("RTT", 10) << "DIAGNOSIS\n";
  for (const auto& region : regions)
    for (const auto& check : region.checks)
      out << pad(region.region, 8) << pad(check.server, 8) << pad(check.address, 22) << pad(check.transport, 10)
          << pad(check.query, 24) << pad(std::string(name_of(check.result)), 16) << pad(format_rtt(check), 10)
          << advice(check.result) << "\n";
  for (const auto& region : regions)
    out << region.region << " (" << region.zone << "): " << name_of(region.state()) << ", " << region.servers_passing()
        << " of " << region.servers() << " servers pass\n";
  out << (passed() ? "PASS: every region validates" : "FAIL: " + reasons()) << "\n";
  return out.str();
}

std::string ValidationReport::json() const {
  nlohmann::json regions_json = nlohmann::json::array();
  for (const auto& region : regions) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& c : region.checks)
      checks.push_back({{"server", c.server},
                        {"address", c.address},
                        {"transport", c.transport},
                        {"query", c.query},
                        {"result", std::string(name_of(c.result))},
                        {"rtt_ms", c.rtt_ms},
                        {"diagnosis", std::string(advice(c.result))}});
    regions_json.push_back({{"region", region.region},
                            {"zone", region.zone},
                            {"state", std::string(name_of(region.state()))},
                            {"checks", checks}});
  }
  return nlohmann::json{{"passed", passed()}, {"regions", regions_json}}.dump(2) + "\n";
}

std::string ValidationReport::reasons() const {
  std::string out;
  for (const auto& region : regions) {
    // One entry per failing server and result, so a dead server is one phrase, not four.
    std::map<std::string, std::set<std::string>> failures;
    for (const auto& c : region.checks)
      if (!passes(c.result)) failures[c.server + " " + c.address].insert(std::string(name_of(c.result)));
    for (const auto& [server, results] : failures) {
      std::string joined;
      for (const auto& r : results) joined += (joined.empty() ? "" : "/") + r;
      out += (out.empty() ? "" : "; ") + region.region + ": " + server + " " + joined;
    }
  }
  return out;
}

}  // namespace diresolver
