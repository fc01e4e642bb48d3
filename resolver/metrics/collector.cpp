#include "metrics/collector.hpp"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <limits>

namespace diresolver {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(const char* name, const char* help, MetricType type) { return {name, help, type, {}}; }

void add(MetricFamily& f, Labels labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) m.counter.value = value;
  else m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

Labels server_labels(const Upstream& server) { return {{"zone", server.zone()}, {"server", server.name()}}; }

Labels with(Labels labels, const char* name, std::string value) {
  labels.push_back({name, std::move(value)});
  return labels;
}

ClientMetric::Histogram rtt_histogram(const CounterSources& sources, unsigned id) {
  std::vector<const WorkerCounters*> all = sources.traffic;
  if (sources.probes) all.push_back(sources.probes);
  ClientMetric::Histogram h;
  uint64_t cumulative = 0;
  for (size_t b = 0; b <= rtt_bucket_bounds.size(); ++b) {
    for (const auto* w : all) cumulative += w->servers[id].rtt_buckets[b].get();
    double bound = b < rtt_bucket_bounds.size() ? rtt_bucket_bounds[b] : std::numeric_limits<double>::infinity();
    h.bucket.push_back({cumulative, bound});
  }
  h.sample_count = cumulative;
  uint64_t sum_us = 0;
  for (const auto* w : all) sum_us += w->servers[id].rtt_sum_us.get();
  h.sample_sum = static_cast<double>(sum_us) / 1e6;
  return h;
}

// Families about each upstream server, one metric per server (and reason/result).
std::vector<MetricFamily> upstream_families(const Runtime& runtime, const CounterSources& sources) {
  auto up = family("diresolver_upstream_up", "1 if the server is considered healthy", MetricType::Gauge);
  auto srtt = family("diresolver_upstream_srtt_seconds", "Smoothed RTT used for selection", MetricType::Gauge);
  auto queries = family("diresolver_upstream_queries_total", "Queries sent to the server", MetricType::Counter);
  auto answers = family("diresolver_upstream_answers_total", "Valid answers from the server", MetricType::Counter);
  auto failures = family("diresolver_upstream_failures_total", "Failed attempts by reason (live traffic)", MetricType::Counter);
  auto hedges = family("diresolver_upstream_hedges_total", "Hedged queries sent to the server", MetricType::Counter);
  auto won = family("diresolver_upstream_hedges_won_total", "Hedged queries whose answer won", MetricType::Counter);
  auto late = family("diresolver_upstream_late_answers_total", "Answers that arrived after another server's", MetricType::Counter);
  auto probes = family("diresolver_upstream_probes_total", "Health probes by result", MetricType::Counter);
  auto tcp = family("diresolver_upstream_tcp_connections_total", "TCP connections opened to the server", MetricType::Counter);
  auto rtt = family("diresolver_upstream_rtt_seconds", "Round-trip time of answers and probes", MetricType::Histogram);
  const auto& w = sources.traffic;
  auto now = monotonic_ms();
  for (const auto& set : runtime.sets) {
    for (size_t i = 0; i < set.size(); ++i) {
      const auto& server = set.server(i);
      auto id = server.id();
      auto labels = server_labels(server);
      add(up, labels, server.is_up() ? 1 : 0);
      add(srtt, labels, server.srtt_us(now) / 1e6);
      add(queries, with(labels, "transport", "udp"), double(sum_server(w, id, &ServerCounters::queries_udp)));
      add(queries, with(labels, "transport", "tcp"), double(sum_server(w, id, &ServerCounters::queries_tcp)));
      add(answers, labels, double(sum_server(w, id, &ServerCounters::answers)));
      for (auto e : all_upstream_errors) {
        add(failures, with(labels, "reason", std::string(to_string(e))), double(sum_failures(w, id, e)));
        add(probes, with(labels, "result", std::string(to_string(e))), double(sum_failures({sources.probes}, id, e)));
      }
      add(probes, with(labels, "result", "ok"), double(sum_server({sources.probes}, id, &ServerCounters::probes_ok)));
      add(hedges, labels, double(sum_server(w, id, &ServerCounters::hedges_sent)));
      add(won, labels, double(sum_server(w, id, &ServerCounters::hedges_won)));
      add(late, labels, double(sum_server(w, id, &ServerCounters::late_answers)));
      add(tcp, labels, double(sum_server(w, id, &ServerCounters::tcp_connects)));
      ClientMetric m;
      m.label = labels;
      m.histogram = rtt_histogram(sources, id);
      rtt.metric.push_back(std::move(m));
    }
  }
  return {up, srtt, queries, answers, failures, hedges, won, late, probes, tcp, rtt};
}

MetricFamily query_family(const CounterSources& sources) {
  auto f = family("diresolver_queries_total", "Client queries received, by transport", MetricType::Counter);
  uint64_t udp = 0, tcp = 0;
  for (const auto* w : sources.traffic) {
    udp += w->queries_udp.get();
    tcp += w->queries_tcp.get();
  }
  add(f, {{"transport", "udp"}}, double(udp));
  add(f, {{"transport", "tcp"}}, double(tcp));
  return f;
}

uint64_t sum_worker(const CounterSources& sources, Counter WorkerCounters::*field) {
  uint64_t total = 0;
  for (const auto* w : sources.traffic) total += (w->*field).get();
  return total;
}

std::vector<MetricFamily> cache_families(const CounterSources& sources, const PacketCache& cache) {
  auto stats = cache.stats();
  auto counter = [&](const char* name, const char* help, double value) {
    auto f = family(name, help, MetricType::Counter);
    add(f, {}, value);
    return f;
  };
  auto gauge = [&](const char* name, const char* help, double value) {
    auto f = family(name, help, MetricType::Gauge);
    add(f, {}, value);
    return f;
  };
  return {
      counter("diresolver_cache_hits_total", "Answers served fresh from the cache",
              double(sum_worker(sources, &WorkerCounters::cache_hits))),
      counter("diresolver_cache_misses_total", "Queries the cache could not answer",
              double(sum_worker(sources, &WorkerCounters::cache_misses))),
      counter("diresolver_cache_stale_served_total", "Expired answers served (RFC 8767)",
              double(sum_worker(sources, &WorkerCounters::cache_stale_served))),
      counter("diresolver_cache_prefetches_total", "Background refreshes of cached entries",
              double(sum_worker(sources, &WorkerCounters::cache_prefetches))),
      counter("diresolver_cache_evictions_total", "Entries evicted to stay within the size bounds",
              double(stats.evictions)),
      gauge("diresolver_cache_entries", "Entries in the cache", double(stats.entries)),
      gauge("diresolver_cache_bytes", "Bytes held by cache entries", double(stats.bytes)),
  };
}

MetricFamily reload_family(const DaemonCounters& daemon) {
  auto f = family("diresolver_config_reloads_total", "Config reloads (SIGHUP) by result", MetricType::Counter);
  add(f, {{"result", "success"}}, double(daemon.reloads_ok.get()));
  add(f, {{"result", "failure"}}, double(daemon.reloads_failed.get()));
  return f;
}

}  // namespace

std::vector<MetricFamily> MetricsCollector::Collect() const {
  auto families = upstream_families(*runtime_(), sources_);
  families.push_back(reload_family(daemon_));
  families.push_back(query_family(sources_));
  if (cache_)
    for (auto& f : cache_families(sources_, *cache_)) families.push_back(std::move(f));
  if (extra_)
    for (auto& f : extra_()) families.push_back(std::move(f));
  return families;
}

}  // namespace diresolver
