#include "metrics/collector_parts.hpp"
#include "metrics/families.hpp"
#include "metrics/upstream_view.hpp"

namespace diresolver::metrics {

namespace {

using Workers = std::vector<const WorkerCounters*>;

MetricFamily queries_by_transport(const Workers& w) {
  auto f = family("diresolver_queries_total", "Client queries received, by transport", MetricType::Counter);
  add(f, {{"transport", "udp"}}, double(sum_workers(w, &WorkerCounters::queries_udp)));
  add(f, {{"transport", "tcp"}}, double(sum_workers(w, &WorkerCounters::queries_tcp)));
  return f;
}

const char* route_name(RouteKind kind) {
  switch (kind) {
    case RouteKind::di: return "di";
    case RouteKind::forward: return "forward";
    case RouteKind::fallback: return "default";
  }
  return "unknown";
}

MetricFamily queries_by_route(const Runtime& runtime, const Workers& w) {
  auto f = family("diresolver_route_queries_total", "Client queries routed to each zone's upstream set",
                  MetricType::Counter);
  for (size_t z = 0; z < runtime.config.zones.size(); ++z) {
    const auto& zone = runtime.config.zones[z];
    Labels labels{{"route", route_name(zone.kind)}, {"zone", zone.zone}};
    if (zone.kind == RouteKind::di) labels.push_back({"region", zone.region});
    add(f, std::move(labels), double(sum_workers_at(w, &WorkerCounters::routed, runtime.zone_slots[z])));
  }
  return f;
}

// RFC 1035/2136 names; codes nobody sends are listed only once seen.
constexpr const char* rcode_names[16] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
                                         "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11",
                                         "RCODE12",  "RCODE13", "RCODE14", "RCODE15"};
constexpr size_t always_listed_rcodes = 6;

MetricFamily responses_by_rcode(const Workers& w) {
  auto f = family("diresolver_responses_total", "Responses sent to clients, by RCODE", MetricType::Counter);
  for (size_t rcode = 0; rcode < 16; ++rcode) {
    auto count = sum_workers_at(w, &WorkerCounters::responses_by_rcode, rcode);
    if (rcode < always_listed_rcodes || count) add(f, {{"rcode", rcode_names[rcode]}}, double(count));
  }
  return f;
}

MetricFamily response_latency(const Workers& w) {
  auto f = family("diresolver_response_duration_seconds",
                  "Client-observed latency: query read to response written", MetricType::Histogram);
  add_histogram(f, {}, summed_histogram(latency_bounds_us, w, [](const WorkerCounters& c) -> const auto& {
                  return c.latency;
                }));
  return f;
}

MetricFamily refusals(const Workers& w) {
  auto f = family("diresolver_refusals_total", "Queries answered REFUSED by diresolver itself, by reason",
                  MetricType::Counter);
  add(f, {{"reason", "acl"}}, double(sum_workers(w, &WorkerCounters::acl_refused)));
  add(f, {{"reason", "no_route"}}, double(sum_workers(w, &WorkerCounters::no_route_refused)));
  return f;
}

std::vector<MetricFamily> tcp_families(const Workers& w) {
  auto accepted = sum_workers(w, &WorkerCounters::tcp_connections);
  auto closed = sum_workers(w, &WorkerCounters::tcp_closed);
  return {
      single("diresolver_tcp_connections_total", "Client TCP connections accepted", MetricType::Counter,
             double(accepted)),
      single("diresolver_tcp_connections_rejected_total", "Client TCP connections closed at once at the limit",
             MetricType::Counter, double(sum_workers(w, &WorkerCounters::tcp_rejected))),
      single("diresolver_tcp_reads_paused_total",
             "Times a client TCP connection stopped being read: too many queries unanswered or answers unread",
             MetricType::Counter, double(sum_workers(w, &WorkerCounters::tcp_paused))),
      // Both counters are read a moment apart: never report a negative count.
      single("diresolver_tcp_connections", "Client TCP connections open now", MetricType::Gauge,
             double(accepted > closed ? accepted - closed : 0)),
  };
}

}  // namespace

std::vector<MetricFamily> client_families(const Runtime& runtime, const Workers& w) {
  auto counter = [&](const char* name, const char* help, Counter WorkerCounters::*field) {
    return single(name, help, MetricType::Counter, double(sum_workers(w, field)));
  };
  std::vector<MetricFamily> out = {
      queries_by_transport(w),
      queries_by_route(runtime, w),
      responses_by_rcode(w),
      response_latency(w),
      refusals(w),
      counter("diresolver_malformed_queries_total", "Client packets dropped or answered FORMERR",
              &WorkerCounters::malformed),
      counter("diresolver_not_ready_responses_total", "DI queries answered SERVFAIL (EDE 14) before validation",
              &WorkerCounters::not_ready),
      counter("diresolver_forward_failures_total", "Queries no upstream answered, answered SERVFAIL (EDE 22/23)",
              &WorkerCounters::servfail),
      counter("diresolver_truncated_responses_total", "Answers too large for the client's UDP size, sent with TC=1",
              &WorkerCounters::truncated_to_client),
      counter("diresolver_send_failures_total", "Responses that could not be sent to the client",
              &WorkerCounters::send_failures),
      counter("diresolver_udp_batched_responses_total",
              "UDP responses written by one sendmmsg with others of their loop turn",
              &WorkerCounters::udp_batched_answers),
      counter("diresolver_upstream_truncated_retries_total", "Truncated upstream UDP answers retried over TCP",
              &WorkerCounters::tcp_retries),
      counter("diresolver_upstream_ignored_packets_total",
              "Upstream packets ignored: wrong ID, question or source", &WorkerCounters::upstream_mismatched),
  };
  for (auto& f : tcp_families(w)) out.push_back(std::move(f));
  return out;
}

}  // namespace diresolver::metrics
