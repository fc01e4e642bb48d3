#include "admin/collector.hpp"

#include "metrics/scrape.hpp"

namespace diresolver {

namespace {

using namespace metrics;

void add_readiness_families(FamilySet& out, const ReadinessView& view) {
  out.add(Family::ready, {}, view.ready ? 1 : 0);
  out.add(Family::degraded, {}, view.degraded ? 1 : 0);
  out.add(Family::validation_last_success, {}, double(view.last_success_unix));
  // Every DI region has a series from the start, so one that never validates shows 0, not nothing.
  for (const auto& [region, ok] : view.region_ok)
    out.add(Family::validation_region_ok, {{"region", region}}, ok ? 1 : 0);
  for (auto result : all_of<CheckResult>())
    if (!passes(result))
      out.add(Family::validation_failures, {{"reason", std::string(name_of(result))}},
              double(view.failures[index_of(result)]));
}

}  // namespace

std::vector<prometheus::MetricFamily> MetricsCollector::Collect() const {
  auto runtime = runtime_();
  std::optional<CacheStats> cache;
  if (cache_) cache = cache_->stats();
  FamilySet out;
  const auto& config = runtime->config;
  add_counter_families(
      out, {config.zones, runtime->zone_slots, runtime->sets, sources_, daemon_, cache ? &*cache : nullptr});
  add_readiness_families(out, gate_.view());
  add_process_families(out);
  return out.take();
}

}  // namespace diresolver
