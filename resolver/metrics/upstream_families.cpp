#include "metrics/collector_parts.hpp"
#include "metrics/families.hpp"
#include "metrics/upstream_view.hpp"

namespace diresolver::metrics {

namespace {

// zone and server always; region for DI servers, so dashboards can group by it.
Labels server_labels(const Upstream& server, const ZoneSpec& zone) {
  Labels labels{{"zone", server.zone()}, {"server", server.name()}};
  if (zone.kind == RouteKind::di) labels.push_back({"region", zone.region});
  return labels;
}

struct UpstreamFamilies {
  MetricFamily up = family("diresolver_upstream_up", "1 if the server is considered healthy", MetricType::Gauge);
  MetricFamily srtt = family("diresolver_upstream_srtt_seconds", "Smoothed RTT used for selection", MetricType::Gauge);
  MetricFamily queries = family("diresolver_upstream_queries_total", "Queries sent to the server", MetricType::Counter);
  MetricFamily answers = family("diresolver_upstream_answers_total", "Valid answers from the server", MetricType::Counter);
  MetricFamily failures =
      family("diresolver_upstream_failures_total", "Failed attempts by reason (live traffic)", MetricType::Counter);
  MetricFamily failovers = family("diresolver_upstream_failover_answers_total",
                                  "Answers delivered by this server after an earlier one failed", MetricType::Counter);
  MetricFamily hedges = family("diresolver_upstream_hedges_total", "Hedged queries sent to the server", MetricType::Counter);
  MetricFamily won = family("diresolver_upstream_hedges_won_total", "Hedged queries whose answer won", MetricType::Counter);
  MetricFamily late = family("diresolver_upstream_late_answers_total", "Answers that arrived after another server's",
                             MetricType::Counter);
  MetricFamily probes = family("diresolver_upstream_probes_total", "Health probes by result", MetricType::Counter);
  MetricFamily tcp =
      family("diresolver_upstream_tcp_connections_total", "TCP connections opened to the server", MetricType::Counter);
  MetricFamily rtt =
      family("diresolver_upstream_rtt_seconds", "Round-trip time of answers and probes", MetricType::Histogram);

  void add_server(const Upstream& server, const Labels& labels, const CounterSources& sources, uint64_t now_ms);
  std::vector<MetricFamily> take() {
    return {up, srtt, queries, answers, failures, failovers, hedges, won, late, probes, tcp, rtt};
  }
};

void UpstreamFamilies::add_server(const Upstream& server, const Labels& labels, const CounterSources& sources,
                                  uint64_t now_ms) {
  const auto& w = sources.traffic;
  auto id = server.id();
  auto total = [&](Counter ServerCounters::*field) { return double(sum_server(w, id, field)); };
  add(up, labels, server.is_up() ? 1 : 0);
  add(srtt, labels, server.srtt_us(now_ms) / 1e6);
  add(queries, with(labels, "transport", "udp"), total(&ServerCounters::queries_udp));
  add(queries, with(labels, "transport", "tcp"), total(&ServerCounters::queries_tcp));
  add(answers, labels, total(&ServerCounters::answers));
  for (auto e : all_upstream_errors) {
    add(failures, with(labels, "reason", std::string(to_string(e))), double(sum_failures(w, id, e)));
    add(probes, with(labels, "result", std::string(to_string(e))), double(sum_failures({sources.probes}, id, e)));
  }
  add(probes, with(labels, "result", "ok"), double(sum_server({sources.probes}, id, &ServerCounters::probes_ok)));
  add(failovers, labels, total(&ServerCounters::failover_answers));
  add(hedges, labels, total(&ServerCounters::hedges_sent));
  add(won, labels, total(&ServerCounters::hedges_won));
  add(late, labels, total(&ServerCounters::late_answers));
  add(tcp, labels, total(&ServerCounters::tcp_connects));
  std::vector<const WorkerCounters*> all = w;
  if (sources.probes) all.push_back(sources.probes);
  add_histogram(rtt, labels, summed_histogram(rtt_bounds_us, all, [id](const WorkerCounters& c) -> const auto& {
                  return c.servers[id].rtt;
                }));
}

}  // namespace

std::vector<MetricFamily> upstream_families(const Runtime& runtime, const CounterSources& sources) {
  UpstreamFamilies families;
  auto now = monotonic_ms();
  for (size_t z = 0; z < runtime.sets.size(); ++z) {
    const auto& set = runtime.sets[z];
    for (size_t i = 0; i < set.size(); ++i)
      families.add_server(set.server(i), server_labels(set.server(i), runtime.config.zones[z]), sources, now);
  }
  return families.take();
}

}  // namespace diresolver::metrics
