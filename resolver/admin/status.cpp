#include "admin/status.hpp"

#include <nlohmann/json.hpp>

#include "util/clock.hpp"

namespace diresolver {

namespace {

using nlohmann::json;

json last_probe(const HealthSnapshot& health, int64_t now) {
  if (!health.last_probe) return nullptr;
  const auto& probe = *health.last_probe;
  return {{"result", probe.error ? std::string(name_of(*probe.error)) : "ok"}, {"age_ms", now - probe.at_ms}};
}

json server_json(const Upstream& server, const CounterSources& sources, int64_t now) {
  const auto& w = sources.traffic;
  auto id = server.id();
  auto health = server.snapshot();
  json failures = json::object();
  uint64_t probes_failed = 0;
  for (auto e : all_of<UpstreamError>()) {
    failures[std::string(name_of(e))] = sum_failures(w, id, e);
    if (sources.probes) probes_failed += sum_failures({sources.probes}, id, e);
  }
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
       {{"ok", sources.probes ? sum_server({sources.probes}, id, &ServerCounters::probes_ok) : 0},
        {"failed", probes_failed}}},
  };
}

json readiness_json(const ReadinessView& view) {
  auto state = !view.ready ? "not ready" : view.degraded ? "degraded" : "ready";
  return {{"state", state}, {"detail", view.detail}};
}

json cache_json(const std::optional<CacheStats>& cache, const CounterSources& sources) {
  if (!cache) return nullptr;
  auto totals = cache_totals(sources);
  return {{"entries", cache->entries},
          {"bytes", cache->bytes},
          {"hits", totals.hits},
          {"misses", totals.misses},
          {"hit_ratio", totals.hit_ratio()}};
}

json reload_json(const ReloadRecord& reload, int64_t now_s) {
  if (reload.unix_s == 0) return nullptr;
  json out = {{"result", reload.ok ? "success" : "failure"}, {"age_s", now_s - reload.unix_s}};
  if (!reload.ok) out["error"] = reload.error;
  return out;
}

}  // namespace

CacheTotals cache_totals(const CounterSources& sources) {
  return {sum_workers(sources.traffic, &WorkerCounters::cache_hits),
          sum_workers(sources.traffic, &WorkerCounters::cache_misses)};
}

std::string status_json(const Runtime& runtime, const CounterSources& sources, const StatusSources& more) {
  auto now = monotonic_ms();
  json zones = json::array();
  for (const auto& set : runtime.sets) {
    json servers = json::array();
    for (size_t i = 0; i < set.size(); ++i) servers.push_back(server_json(set.server(i), sources, now));
    zones.push_back({{"zone", set.zone()},
                     {"route", set.route_label()},
                     {"selection", std::string(name_of(set.selection()))},
                     {"tcp_only", set.tcp_only()},
                     {"servers", servers}});
  }
  auto now_s = unix_s();
  return json{{"version", DIRESOLVER_VERSION},
              {"uptime_s", now_s - more.daemon.started_unix_s},
              {"readiness", readiness_json(more.readiness)},
              {"cache", cache_json(more.cache, sources)},
              {"last_reload", reload_json(more.daemon.last_reload(), now_s)},
              {"zones", zones}}
             .dump(2) +
         "\n";
}

}  // namespace diresolver
