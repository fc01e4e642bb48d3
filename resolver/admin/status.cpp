#include "admin/status.hpp"

#include <nlohmann/json.hpp>

namespace diresolver {

namespace {

using nlohmann::json;

const char* selection_name(Selection s) {
  switch (s) {
    case Selection::lowest_rtt: return "lowest_rtt";
    case Selection::sequential: return "sequential";
    case Selection::round_robin: return "round_robin";
  }
  return "?";
}

json last_probe(const HealthSnapshot& health, int64_t now) {
  if (!health.last_probe) return nullptr;
  const auto& probe = *health.last_probe;
  return {{"result", probe.error ? std::string(to_string(*probe.error)) : "ok"}, {"age_ms", now - probe.at_ms}};
}

json server_json(const Upstream& server, const CounterSources& sources, int64_t now) {
  const auto& w = sources.traffic;
  auto id = server.id();
  auto health = server.snapshot();
  json failures = json::object();
  for (auto e : all_upstream_errors) failures[std::string(to_string(e))] = sum_failures(w, id, e);
  return {
      {"name", server.name()},
      {"address", server.address().to_string()},
      {"state", health.up ? "up" : "down"},
      {"srtt_ms", server.srtt_us(now) / 1000.0},
      {"consecutive_failures", health.consecutive_failures},
      {"consecutive_successes", health.consecutive_successes},
      {"last_probe", last_probe(health, now)},
      {"last_change_age_ms", now - health.last_change_ms},
      {"queries", sum_server(w, id, &ServerCounters::queries_udp) + sum_server(w, id, &ServerCounters::queries_tcp)},
      {"answers", sum_server(w, id, &ServerCounters::answers)},
      {"failures", failures},
      {"hedges_sent", sum_server(w, id, &ServerCounters::hedges_sent)},
      {"hedges_won", sum_server(w, id, &ServerCounters::hedges_won)},
      {"late_answers", sum_server(w, id, &ServerCounters::late_answers)},
      {"tcp_connections", sum_server(w, id, &ServerCounters::tcp_connects)},
      {"probes",
       {{"ok", sum_server({sources.probes}, id, &ServerCounters::probes_ok)},
        {"failed", sum_server({sources.probes}, id, &ServerCounters::probes_failed)}}},
  };
}

}  // namespace

std::string status_json(const Runtime& runtime, const CounterSources& sources) {
  auto now = monotonic_ms();
  json zones = json::array();
  for (const auto& set : runtime.sets) {
    json servers = json::array();
    for (size_t i = 0; i < set.size(); ++i) servers.push_back(server_json(set.server(i), sources, now));
    zones.push_back({{"zone", set.zone()},
                     {"route", set.route_label()},
                     {"selection", selection_name(set.selection())},
                     {"tcp_only", set.tcp_only()},
                     {"servers", servers}});
  }
  return json{{"zones", zones}}.dump(2) + "\n";
}

}  // namespace diresolver
