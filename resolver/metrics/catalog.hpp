// Every metric diresolver exports, written once: name, type and help of each
// family, and which counter fills it with which label. The per-worker counter
// structs, the Prometheus families and the shutdown stats line are generated
// from these tables (metrics/counters.hpp,
// metrics/scrape.cpp, metrics/counters.cpp); the README's
// metric table is checked against a live scrape (tests/integration/test_metrics.py),
// and the dashboard and alert rules use exactly these names.
//
// To add a counter: one line in DIRESOLVER_METRIC_FAMILIES, one in the counter
// table it belongs to, the increment where it happens, a row in the README.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace diresolver::metrics {

// Prometheus's types, named here so the hot path's headers need no prometheus-cpp.
enum class Type { Counter, Gauge, Histogram };
// Which part of a scrape a family belongs to: the cache's appear only with a cache.
enum class Part { client, upstream, cache, daemon, readiness, process };
// Where a per-server counter is summed from: the workers' live traffic, or the
// control loop (health probes and validation).
enum class Source { traffic, probes };

// F(id, name, type, part, help)
#define DIRESOLVER_METRIC_FAMILIES(F)                                                                                  \
  F(build_info, "diresolver_build_info", Gauge, daemon, "Always 1; the labels say which build is running")             \
  F(queries, "diresolver_queries_total", Counter, client, "Client queries received, by transport")                     \
  F(route_queries, "diresolver_route_queries_total", Counter, client,                                                  \
    "Client queries routed to each zone's upstream set")                                                               \
  F(responses, "diresolver_responses_total", Counter, client, "Responses sent to clients, by RCODE")                   \
  F(response_duration, "diresolver_response_duration_seconds", Histogram, client,                                      \
    "Client-observed latency: query read to response written")                                                         \
  F(refusals, "diresolver_refusals_total", Counter, client,                                                            \
    "Queries answered REFUSED by diresolver itself, by reason")                                                        \
  F(malformed_queries, "diresolver_malformed_queries_total", Counter, client,                                          \
    "Client packets dropped or answered FORMERR")                                                                      \
  F(notimp_responses, "diresolver_notimp_responses_total", Counter, client,                                            \
    "Queries with an opcode other than QUERY, answered NOTIMP")                                                        \
  F(badvers_responses, "diresolver_badvers_responses_total", Counter, client,                                          \
    "Queries with an EDNS version above 0, answered BADVERS")                                                          \
  F(not_ready_responses, "diresolver_not_ready_responses_total", Counter, client,                                      \
    "DI queries answered SERVFAIL (EDE 14) before validation")                                                         \
  F(relayed_responses, "diresolver_relayed_responses_total", Counter, client,                                          \
    "Upstream answers relayed to clients (cache misses answered by an upstream)")                                      \
  F(forward_failures, "diresolver_forward_failures_total", Counter, client,                                            \
    "Queries no upstream answered, answered SERVFAIL (EDE 22/23)")                                                     \
  F(truncated_responses, "diresolver_truncated_responses_total", Counter, client,                                      \
    "Answers too large for the client's UDP size, sent with TC=1")                                                     \
  F(send_failures, "diresolver_send_failures_total", Counter, client,                                                  \
    "Responses that could not be sent to the client")                                                                  \
  F(udp_batched_responses, "diresolver_udp_batched_responses_total", Counter, client,                                  \
    "UDP responses written by one sendmmsg with others of their loop turn")                                            \
  F(tcp_connections_accepted, "diresolver_tcp_connections_total", Counter, client, "Client TCP connections accepted")  \
  F(tcp_connections_closed, "diresolver_tcp_connections_closed_total", Counter, client,                                \
    "Accepted client TCP connections since closed")                                                                    \
  F(tcp_connections_rejected, "diresolver_tcp_connections_rejected_total", Counter, client,                            \
    "Client TCP connections closed at once at a limit, by reason")                                                              \
  F(tcp_reads_paused, "diresolver_tcp_reads_paused_total", Counter, client,                                            \
    "Times a client TCP connection stopped being read: too many queries unanswered or answers unread")                 \
  F(tcp_unread_closes, "diresolver_tcp_unread_closes_total", Counter, client,                                          \
    "Client TCP connections closed for leaving too many answers unread")                                               \
  F(dropped_queries, "diresolver_dropped_queries_total", Counter, client,                                              \
    "Client queries dropped unanswered at a limit, by reason")                                                         \
  F(ratelimit_untracked, "diresolver_ratelimit_untracked_total", Counter, client,                                      \
    "Queries let through unlimited because the rate limiter's client table was full")                                  \
  F(fd_exhausted, "diresolver_fd_exhausted_total", Counter, client,                                                    \
    "Sockets not opened or connections not accepted for lack of file descriptors (or to keep server.fd_reserve)")      \
  F(late_timeouts, "diresolver_late_timeouts_total", Counter, client,                                                  \
    "Upstream attempt timeouts that fired late on a stalled loop and waited once more instead of failing")             \
  F(tcp_connections_open, "diresolver_tcp_connections", Gauge, client, "Client TCP connections open now")              \
  F(upstream_truncated_retries, "diresolver_upstream_truncated_retries_total", Counter, client,                        \
    "Truncated upstream UDP answers retried over TCP")                                                                 \
  F(upstream_ignored_packets, "diresolver_upstream_ignored_packets_total", Counter, client,                            \
    "Upstream packets ignored: wrong ID, question or source")                                                          \
  F(upstream_send_failures, "diresolver_upstream_send_failures_total", Counter, client,                                \
    "Upstream queries the kernel would not send (the attempt then times out)")                                         \
  F(dnstap_messages, "diresolver_dnstap_messages_total", Counter, client,                                              \
    "dnstap messages queued for the output, or dropped because the worker's queue was full")                           \
  F(upstream_up, "diresolver_upstream_up", Gauge, upstream, "1 if the server is considered healthy")                   \
  F(upstream_srtt, "diresolver_upstream_srtt_seconds", Gauge, upstream, "Smoothed RTT used for selection")             \
  F(upstream_queries, "diresolver_upstream_queries_total", Counter, upstream, "Queries sent to the server")            \
  F(upstream_answers, "diresolver_upstream_answers_total", Counter, upstream, "Valid answers from the server")         \
  F(upstream_failures, "diresolver_upstream_failures_total", Counter, upstream,                                        \
    "Failed attempts by reason (live traffic)")                                                                        \
  F(upstream_failover_answers, "diresolver_upstream_failover_answers_total", Counter, upstream,                        \
    "Answers delivered by this server after an earlier one failed")                                                    \
  F(upstream_hedges, "diresolver_upstream_hedges_total", Counter, upstream, "Hedged queries sent to the server")       \
  F(upstream_retries, "diresolver_upstream_retries_total", Counter, upstream,                                          \
    "Queries sent to the server again after its attempt timed out (a lost datagram)")                                  \
  F(upstream_hedges_won, "diresolver_upstream_hedges_won_total", Counter, upstream, "Hedged queries whose answer won") \
  F(upstream_late_answers, "diresolver_upstream_late_answers_total", Counter, upstream,                                \
    "Answers that arrived after another server's, or after their attempt had timed out")                               \
  F(upstream_probes, "diresolver_upstream_probes_total", Counter, upstream, "Health probes by result")                 \
  F(upstream_tcp_connections, "diresolver_upstream_tcp_connections_total", Counter, upstream,                          \
    "TCP connections opened to the server")                                                                            \
  F(upstream_tcp_connect_timeouts, "diresolver_upstream_tcp_connect_timeouts_total", Counter, upstream,                \
    "TCP connects to the server given up after upstream.tcp_connect_timeout_ms")                                       \
  F(upstream_rtt, "diresolver_upstream_rtt_seconds", Histogram, upstream, "Round-trip time of answers and probes")     \
  F(cache_hits, "diresolver_cache_hits_total", Counter, cache, "Answers served fresh from the cache")                  \
  F(cache_misses, "diresolver_cache_misses_total", Counter, cache, "Queries the cache could not answer")               \
  F(cache_stale_served, "diresolver_cache_stale_served_total", Counter, cache, "Expired answers served (RFC 8767)")    \
  F(cache_prefetches, "diresolver_cache_prefetches_total", Counter, cache, "Background refreshes of cached entries")   \
  F(cache_evictions, "diresolver_cache_evictions_total", Counter, cache,                                               \
    "Entries evicted to stay within the size bounds")                                                                  \
  F(cache_entries, "diresolver_cache_entries", Gauge, cache, "Entries in the cache")                                   \
  F(cache_bytes, "diresolver_cache_bytes", Gauge, cache, "Bytes held by cache entries")                                \
  F(config_reloads, "diresolver_config_reloads_total", Counter, daemon, "Config reloads (SIGHUP) by result")           \
  F(ready, "diresolver_ready", Gauge, readiness, "1 once forwarding has been validated (stays 1 while degraded)")      \
  F(degraded, "diresolver_degraded", Gauge, readiness,                                                                 \
    "1 while ready but a DI server fails validation or is marked down")                                                \
  F(validation_region_ok, "diresolver_validation_region_ok", Gauge, readiness,                                         \
    "1 if the region validated in the last round")                                                                     \
  F(validation_last_success, "diresolver_validation_last_success_timestamp_seconds", Gauge, readiness,                 \
    "Unix time of the last passing validation")                                                                        \
  F(validation_failures, "diresolver_validation_failures_total", Counter, readiness,                                   \
    "Failed validation checks by reason")                                                                              \
  F(process_cpu, "process_cpu_seconds_total", Counter, process, "User and system CPU time spent")                      \
  F(process_resident_memory, "process_resident_memory_bytes", Gauge, process, "Resident memory size")                  \
  F(process_virtual_memory, "process_virtual_memory_bytes", Gauge, process, "Virtual memory size")                     \
  F(process_open_fds, "process_open_fds", Gauge, process, "Open file descriptors")                                     \
  F(process_max_fds, "process_max_fds", Gauge, process, "Limit of open file descriptors")                              \
  F(process_start_time, "process_start_time_seconds", Gauge, process, "Start time of the process since the Unix epoch")

enum class Family {
#define DIRESOLVER_FAMILY_ID(id, name, type, part, help) id,
  DIRESOLVER_METRIC_FAMILIES(DIRESOLVER_FAMILY_ID)
#undef DIRESOLVER_FAMILY_ID
};

struct FamilyDef {
  std::string_view name;
  Type type;
  Part part;
  std::string_view help;
};

inline constexpr FamilyDef family_defs[] = {
#define DIRESOLVER_FAMILY_DEF(id, name, type, part, help) {name, Type::type, Part::part, help},
    DIRESOLVER_METRIC_FAMILIES(DIRESOLVER_FAMILY_DEF)
#undef DIRESOLVER_FAMILY_DEF
};
inline constexpr size_t family_count = std::size(family_defs);

constexpr const FamilyDef& def(Family family) { return family_defs[static_cast<size_t>(family)]; }

// Per-worker event counters, each exported into one family with at most one
// label of its own: X(field, family, label, value). A worker is the only
// writer of its counters; scrapes sum every worker's.
#define DIRESOLVER_WORKER_COUNTERS(X)                         \
  X(queries_udp, queries, "transport", "udp")                 \
  X(queries_tcp, queries, "transport", "tcp")                 \
  X(malformed, malformed_queries, "", "")                     \
  X(notimp, notimp_responses, "", "")                         \
  X(acl_refused, refusals, "reason", "acl")                   \
  X(no_route_refused, refusals, "reason", "no_route")         \
  X(notify_refused, refusals, "reason", "notify")             \
  X(class_refused, refusals, "reason", "class")               \
  X(transfer_refused, refusals, "reason", "zone_transfer")    \
  X(no_recursion_refused, refusals, "reason", "no_recursion") \
  X(rate_refused, refusals, "reason", "rate_limit")           \
  X(rate_dropped, dropped_queries, "reason", "rate_limit")    \
  X(in_flight_dropped, dropped_queries, "reason", "in_flight") \
  X(rate_untracked, ratelimit_untracked, "", "")              \
  X(badvers, badvers_responses, "", "")                       \
  X(not_ready, not_ready_responses, "", "")                   \
  X(answered, relayed_responses, "", "")                      \
  X(servfail, forward_failures, "", "")                       \
  X(truncated_to_client, truncated_responses, "", "")         \
  X(send_failures, send_failures, "", "")                     \
  X(udp_batched_answers, udp_batched_responses, "", "")       \
  X(tcp_connections, tcp_connections_accepted, "", "")        \
  X(tcp_closed, tcp_connections_closed, "", "")               \
  X(tcp_rejected, tcp_connections_rejected, "reason", "connections") \
  X(tcp_rejected_per_client, tcp_connections_rejected, "reason", "per_client") \
  X(tcp_rejected_fds, tcp_connections_rejected, "reason", "fd_reserve") \
  X(tcp_paused, tcp_reads_paused, "", "")                     \
  X(tcp_unread_closed, tcp_unread_closes, "", "")             \
  X(fd_exhausted, fd_exhausted, "", "")                       \
  X(late_timeouts, late_timeouts, "", "")                     \
  X(tcp_retries, upstream_truncated_retries, "", "")          \
  X(upstream_mismatched, upstream_ignored_packets, "", "")    \
  X(upstream_send_failures, upstream_send_failures, "", "")   \
  X(cache_hits, cache_hits, "", "")                           \
  X(cache_misses, cache_misses, "", "")                       \
  X(cache_stale_served, cache_stale_served, "", "")           \
  X(cache_prefetches, cache_prefetches, "", "")               \
  X(dnstap_queued, dnstap_messages, "result", "queued")       \
  X(dnstap_dropped, dnstap_messages, "result", "dropped")

// What a loop counted of one upstream server: X(field, family, source, label,
// value). `traffic` counters are summed over the workers, `probes` ones from
// the control loop's (health probes); the failures by reason and the RTT
// histogram sit beside them in ServerCounters.
#define DIRESOLVER_SERVER_COUNTERS(X)                             \
  X(queries_udp, upstream_queries, traffic, "transport", "udp")   \
  X(queries_tcp, upstream_queries, traffic, "transport", "tcp")   \
  X(answers, upstream_answers, traffic, "", "")                   \
  X(failover_answers, upstream_failover_answers, traffic, "", "") \
  X(hedges_sent, upstream_hedges, traffic, "", "")                \
  X(hedges_won, upstream_hedges_won, traffic, "", "")             \
  X(retries, upstream_retries, traffic, "", "")                   \
  X(late_answers, upstream_late_answers, traffic, "", "")         \
  X(tcp_connects, upstream_tcp_connections, traffic, "", "")      \
  X(tcp_connect_timeouts, upstream_tcp_connect_timeouts, traffic, "", "") \
  X(probes_ok, upstream_probes, probes, "result", "ok")

}  // namespace diresolver::metrics
