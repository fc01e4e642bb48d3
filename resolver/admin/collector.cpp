#include "admin/collector.hpp"

#include "metrics/collector_parts.hpp"
#include "metrics/families.hpp"

namespace diresolver {

namespace {

using namespace metrics;

std::vector<MetricFamily> cache_families(const CounterSources& sources, const PacketCache& cache) {
  auto stats = cache.stats();
  auto counter = [&](const char* name, const char* help, Counter WorkerCounters::*field) {
    return single(name, help, MetricType::Counter, double(sum_workers(sources.traffic, field)));
  };
  return {
      counter("diresolver_cache_hits_total", "Answers served fresh from the cache", &WorkerCounters::cache_hits),
      counter("diresolver_cache_misses_total", "Queries the cache could not answer", &WorkerCounters::cache_misses),
      counter("diresolver_cache_stale_served_total", "Expired answers served (RFC 8767)",
              &WorkerCounters::cache_stale_served),
      counter("diresolver_cache_prefetches_total", "Background refreshes of cached entries",
              &WorkerCounters::cache_prefetches),
      single("diresolver_cache_evictions_total", "Entries evicted to stay within the size bounds",
             MetricType::Counter, double(stats.evictions)),
      single("diresolver_cache_entries", "Entries in the cache", MetricType::Gauge, double(stats.entries)),
      single("diresolver_cache_bytes", "Bytes held by cache entries", MetricType::Gauge, double(stats.bytes)),
  };
}

MetricFamily reload_family(const DaemonCounters& daemon) {
  auto f = family("diresolver_config_reloads_total", "Config reloads (SIGHUP) by result", MetricType::Counter);
  add(f, {{"result", "success"}}, double(daemon.reloads_ok.get()));
  add(f, {{"result", "failure"}}, double(daemon.reloads_failed.get()));
  return f;
}

void append(std::vector<MetricFamily>& to, std::vector<MetricFamily>&& from) {
  for (auto& f : from) to.push_back(std::move(f));
}

}  // namespace

std::vector<MetricFamily> MetricsCollector::Collect() const {
  auto runtime = runtime_();
  std::vector<MetricFamily> families{build_info_family()};
  append(families, client_families(*runtime, sources_.traffic));
  append(families, upstream_families(*runtime, sources_));
  if (cache_) append(families, cache_families(sources_, *cache_));
  families.push_back(reload_family(daemon_));
  if (extra_) append(families, extra_());
  append(families, process_families());
  return families;
}

}  // namespace diresolver
