#include "server/query_handler.hpp"

#include "dns/response.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"

namespace diresolver {

QueryHandler::QueryHandler(RuntimePtr runtime, Forwarder& forwarder, PacketCache* cache,
                           const std::atomic<bool>& di_open, WorkerCounters& counters)
    : runtime_(std::move(runtime)), forwarder_(forwarder), cache_(cache), di_open_(di_open), counters_(counters),
      time_responses_(runtime_->config.admin.listen.has_value()) {
  cached_.reserve(65536 + 64);
  if (cache_)
    forwarder_.set_answer_sink(
        [cache = cache_](const dns::ParsedQuery& query, dns::Bytes answer, int64_t now_ms, uint64_t generation) {
          cache->store(make_cache_key(query), answer, now_ms, generation);
        });
}

bool QueryHandler::handle(dns::Bytes packet, Client client) {
  auto now = Instant::now();
  if (time_responses_) client.received_ns = now.ns;
  (client.tcp ? counters_.queries_tcp : counters_.queries_udp).inc();
  auto check = dns::check_query(packet);
  if (rejected_as_malformed(packet, check, client)) return check.verdict != dns::QueryVerdict::drop;
  const auto& query = check.query;
  if (refused_by_acl(packet, query, client)) return true;
  const Route* route = route_or_refuse(packet, query, client);
  if (!route || held_by_gate(packet, query, *route, client)) return true;
  const auto& set = runtime_->sets[route->set_index];
  auto cached = answer_from_cache(packet, query, set, client, now);
  if (cached == CacheStatus::hit || cached == CacheStatus::stale) return true;
  forward(packet, query, set, client, cached == CacheStatus::expired, now);
  return true;
}

bool QueryHandler::rejected_as_malformed(dns::Bytes packet, const dns::QueryCheck& check,
                                         const Client& client) {
  switch (check.verdict) {
    case dns::QueryVerdict::ok:
      return false;
    case dns::QueryVerdict::drop:
      counters_.malformed.inc();
      return true;
    case dns::QueryVerdict::formerr:
      counters_.malformed.inc();
      counters_.formerr.inc();
      send(client, check.query, dns::make_reply(packet, check.query, dns::Rcode::formerr));
      return true;
    case dns::QueryVerdict::notimp:
      counters_.notimp.inc();
      send(client, check.query, dns::make_reply(packet, check.query, dns::Rcode::notimp));
      return true;
  }
  return true;
}

bool QueryHandler::refused_by_acl(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
  if (runtime_->acl.allows(client.address.get())) return false;
  counters_.acl_refused.inc();
  send(client, query, dns::make_reply(packet, query, dns::Rcode::refused, dns::Ede::prohibited));
  return true;
}

const Route* QueryHandler::route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query,
                                           const Client& client) {
  const Route* route = runtime_->router.lookup(query.name());
  if (route) {
    counters_.routed[route->counter_slot].inc();
    return route;
  }
  // Not an open resolver: without a default set, only the configured zones are served.
  counters_.no_route_refused.inc();
  send(client, query, dns::make_reply(packet, query, dns::Rcode::refused));
  return nullptr;
}

// Until forwarding to the DI servers has been validated, DI names get
// SERVFAIL with EDE 14 (Not Ready) rather than a guess; other names flow.
bool QueryHandler::held_by_gate(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route,
                                const Client& client) {
  if (route.kind != RouteKind::di || di_open_.load(std::memory_order_relaxed)) return false;
  counters_.not_ready.inc();
  send(client, query, dns::make_reply(packet, query, dns::Rcode::servfail, dns::Ede::not_ready));
  return true;
}

// hit: answered. stale: answered from an expired entry because every server of
// the set is down (refreshed in the background). expired: a stale answer is on
// hand if the upstreams are slow. miss: nothing.
CacheStatus QueryHandler::answer_from_cache(dns::Bytes packet, const dns::ParsedQuery& query,
                                            const UpstreamSet& set, const Client& client, Instant now) {
  if (!cache_) return CacheStatus::miss;
  auto found = cache_->lookup(make_cache_key(query), packet, query, now.ms(), set.all_down(), cached_);
  switch (found.status) {
    case CacheStatus::hit:
      counters_.cache_hits.inc();
      if (found.prefetch) refresh(packet, query, set, now);
      send(client, query, cached_);
      break;
    case CacheStatus::stale:
      counters_.cache_stale_served.inc();
      send(client, query, cached_);
      refresh(packet, query, set, now);
      break;
    case CacheStatus::miss:
    case CacheStatus::expired:
      counters_.cache_misses.inc();
      break;
  }
  return found.status;
}

void QueryHandler::forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set,
                           const Client& client, bool stale_available, Instant now) {
  uint32_t slot = pending_.add(client, query);
  ForwardOptions options;
  options.keep_alive = runtime_;
  options.generation = runtime_->generation;
  if (stale_available) {
    options.slow_after_ms = cache_->settings().stale_after_ms;
    options.on_slow = [this, slot, copy = std::vector<uint8_t>(packet.begin(), packet.end())] {
      return serve_stale_while_waiting(slot, copy);
    };
  }
  forwarder_.forward(
      packet, query, set,
      [this, slot](ForwardOutcome&& outcome) {
        auto waiting = pending_.take(slot);
        relay(waiting.client, waiting.query, std::move(outcome));
      },
      std::move(options), now);
}

// Serve-stale's client response timer: the forwarder will not call back once this says true.
bool QueryHandler::serve_stale_while_waiting(uint32_t slot, dns::Bytes packet) {
  const auto& waiting = pending_.at(slot);
  if (!serve_stale(packet, waiting.query, waiting.client)) return false;
  pending_.take(slot);
  return true;
}

// Prefetch or stale refresh: ask upstream with nobody waiting; the answer lands in the cache.
void QueryHandler::refresh(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, Instant now) {
  counters_.cache_prefetches.inc();
  ForwardOptions options;
  options.keep_alive = runtime_;
  options.generation = runtime_->generation;
  forwarder_.forward(packet, query, set, nullptr, std::move(options), now);
}

bool QueryHandler::serve_stale(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
  if (!cache_) return false;
  auto found = cache_->lookup(make_cache_key(query), packet, query, monotonic_ms(), true, cached_);
  if (found.status != CacheStatus::stale && found.status != CacheStatus::hit) return false;
  (found.status == CacheStatus::stale ? counters_.cache_stale_served : counters_.cache_hits).inc();
  send(client, query, cached_);
  return true;
}

void QueryHandler::relay(const Client& client, const dns::ParsedQuery& query, ForwardOutcome&& outcome) {
  if (outcome.status == ForwardStatus::answered) {
    counters_.answered.inc();
    dns::set_id(outcome.answer, query.id);
    return send(client, query, outcome.answer);
  }
  // RFC 8767: when the upstreams cannot answer, an expired answer beats none.
  if (serve_stale(outcome.query_packet, query, client)) return;
  if (!outcome.answer.empty()) {  // every server said SERVFAIL or REFUSED: pass on what they said
    counters_.answered.inc();
    dns::set_id(outcome.answer, query.id);
    return send(client, query, outcome.answer);
  }
  counters_.servfail.inc();
  // RFC 8914: 22 when nobody answered in time, 23 when the network said no.
  auto ede = outcome.last_error == UpstreamError::network ? dns::Ede::network_error
                                                          : dns::Ede::no_reachable_authority;
  send(client, query, dns::make_reply(outcome.query_packet, query, dns::Rcode::servfail, ede));
}

void QueryHandler::send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) {
  count_response(client, answer);
  if (client.tcp) return client.tcp->send(answer);
  if (answer.size() > query.max_udp_answer()) {
    counters_.truncated_to_client.inc();
    auto cut = dns::make_truncated(answer, query);
    return client.udp->send(client.address, cut);
  }
  client.udp->send(client.address, answer);
}

void QueryHandler::count_response(const Client& client, dns::Bytes answer) {
  if (answer.size() >= dns::header_size)
    counters_.responses_by_rcode[static_cast<size_t>(dns::rcode_of(answer))].inc();
  if (client.received_ns) counters_.latency.observe(latency_bounds_us, (uv_hrtime() - client.received_ns) / 1000);
}

}  // namespace diresolver
