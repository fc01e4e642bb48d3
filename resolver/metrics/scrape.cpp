#include "metrics/scrape.hpp"

#include "dns/wire.hpp"

namespace diresolver::metrics {

namespace {

using Workers = std::vector<const WorkerCounters*>;

// Codes nobody sends are listed only once seen.
constexpr size_t always_listed_rcodes = 6;

bool shown(Family family, const ScrapeInput& in) { return in.cache || def(family).part != Part::cache; }

// The control loop counts only what it meets too (file descriptors), so it is summed in.
void add_worker_counters(FamilySet& out, const ScrapeInput& in) {
  Workers w = in.counters.traffic;
  if (in.counters.probes) w.push_back(in.counters.probes);
#define DIRESOLVER_WORKER_FAMILY(field, family, label, value) \
  if (shown(Family::family, in))                              \
    out.add(Family::family, with({}, label, value), double(sum_workers(w, &WorkerCounters::field)));
  DIRESOLVER_WORKER_COUNTERS(DIRESOLVER_WORKER_FAMILY)
#undef DIRESOLVER_WORKER_FAMILY
  // Both counters are read a moment apart: never report a negative count.
  auto accepted = sum_workers(w, &WorkerCounters::tcp_connections);
  auto closed = sum_workers(w, &WorkerCounters::tcp_closed);
  out.add(Family::tcp_connections_open, {}, double(accepted > closed ? accepted - closed : 0));
}

void add_client_breakdowns(FamilySet& out, const ScrapeInput& in) {
  const Workers& w = in.counters.traffic;
  for (size_t z = 0; z < in.zones.size(); ++z) {
    const auto& zone = in.zones[z];
    Labels labels{{"route", std::string(name_of(zone.kind))}, {"zone", zone.zone}};
    if (zone.kind == RouteKind::di) labels.push_back({"region", zone.region});
    out.add(Family::route_queries, std::move(labels),
            double(sum_workers_at(w, &WorkerCounters::routed, in.zone_slots[z])));
  }
  for (size_t rcode = 0; rcode < 16; ++rcode) {
    auto count = sum_workers_at(w, &WorkerCounters::responses_by_rcode, rcode);
    if (rcode < always_listed_rcodes || count)
      out.add(Family::responses, {{"rcode", dns::rcode_names[rcode]}}, double(count));
  }
  out.add_histogram(Family::response_duration, {},
                    summed_histogram(
                        latency_bounds_us, w, [](const WorkerCounters& c) -> const auto& { return c.latency; }));
}

// zone and server always; region for DI servers, so dashboards can group by it.
Labels server_labels(const Upstream& server, const ZoneSpec& zone) {
  Labels labels{{"zone", server.zone()}, {"server", server.name()}};
  if (zone.kind == RouteKind::di) labels.push_back({"region", zone.region});
  return labels;
}

void add_server(FamilySet& out, const Upstream& server, const Labels& labels, const CounterSources& sources,
                int64_t now_ms) {
  auto id = server.id();
  const Workers& traffic = sources.traffic;
  const Workers probes = sources.probes ? Workers{sources.probes} : Workers{};
  auto from = [&](Source source) -> const Workers& { return source == Source::traffic ? traffic : probes; };
  out.add(Family::upstream_up, labels, server.is_up() ? 1 : 0);
  out.add(Family::upstream_srtt, labels, server.srtt_us(now_ms) / 1e6);
#define DIRESOLVER_SERVER_FAMILY(field, family, source, label, value) \
  out.add(Family::family, with(labels, label, value),                 \
          double(sum_server(from(Source::source), id, &ServerCounters::field)));
  DIRESOLVER_SERVER_COUNTERS(DIRESOLVER_SERVER_FAMILY)
#undef DIRESOLVER_SERVER_FAMILY
  for (auto e : all_of<UpstreamError>()) {
    auto reason = std::string(name_of(e));
    out.add(Family::upstream_failures, with(labels, "reason", reason), double(sum_failures(traffic, id, e)));
    out.add(Family::upstream_probes, with(labels, "result", reason), double(sum_failures(probes, id, e)));
  }
  Workers all = traffic;
  all.insert(all.end(), probes.begin(), probes.end());
  out.add_histogram(
      Family::upstream_rtt, labels,
      summed_histogram(
          rtt_bounds_us, all, [id](const WorkerCounters& c) -> const auto& { return c.servers[id].rtt; }));
}

void add_cache_stats(FamilySet& out, const CacheStats& stats) {
  out.add(Family::cache_evictions, {}, double(stats.evictions));
  out.add(Family::cache_entries, {}, double(stats.entries));
  out.add(Family::cache_bytes, {}, double(stats.bytes));
}

}  // namespace

void add_counter_families(FamilySet& out, const ScrapeInput& in) {
  add_worker_counters(out, in);
  add_client_breakdowns(out, in);
  auto now = monotonic_ms();
  for (size_t z = 0; z < in.sets.size(); ++z)
    for (size_t i = 0; i < in.sets[z].size(); ++i) {
      const auto& server = in.sets[z].server(i);
      add_server(out, server, server_labels(server, in.zones[z]), in.counters, now);
    }
  if (in.cache) add_cache_stats(out, *in.cache);
  out.add(Family::config_reloads, {{"result", "success"}}, double(in.daemon.reloads_ok.get()));
  out.add(Family::config_reloads, {{"result", "failure"}}, double(in.daemon.reloads_failed.get()));
}

}  // namespace diresolver::metrics
