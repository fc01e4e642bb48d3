#include "server/query_handler.hpp"

#include "dns/response.hpp"

namespace diresolver {

QueryHandler::QueryHandler(RuntimePtr runtime, MissPath& misses, PacketCache* cache, Responder& responder,
                           const std::atomic<bool>& di_open, WorkerCounters& counters)
    : runtime_(std::move(runtime)),
      misses_(misses),
      cache_(cache),
      responder_(responder),
      di_open_(di_open),
      counters_(counters),
      time_responses_(runtime_->config.admin.listen.has_value()) {
  cached_.reserve(65536 + 64);
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
  auto cached = answer_from_cache(packet, query, *route, client, now);
  if (cached == CacheStatus::hit || cached == CacheStatus::stale) return true;
  misses_.forward(packet, query, set_of(*route), runtime_->generation, client, cached == CacheStatus::expired, now);
  return true;
}

bool QueryHandler::rejected_as_malformed(dns::Bytes packet, const dns::QueryCheck& check, const Client& client) {
  switch (check.verdict) {
    case dns::QueryVerdict::ok: return false;
    case dns::QueryVerdict::drop: counters_.malformed.inc(); return true;
    case dns::QueryVerdict::formerr:
      counters_.malformed.inc();
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

const Route* QueryHandler::route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
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
CacheStatus QueryHandler::answer_from_cache(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route,
                                            const Client& client, Instant now) {
  if (!cache_) return CacheStatus::miss;
  const auto& set = runtime_->sets[route.set_index];
  auto found = cache_->lookup(make_cache_key(query), packet, query, now.ms(), set.all_down(), cached_);
  switch (found.status) {
    case CacheStatus::hit:
      counters_.cache_hits.inc();
      if (found.prefetch) misses_.refresh(packet, query, set_of(route), runtime_->generation, now);
      send(client, query, cached_);
      break;
    case CacheStatus::stale:
      counters_.cache_stale_served.inc();
      send(client, query, cached_);
      misses_.refresh(packet, query, set_of(route), runtime_->generation, now);
      break;
    case CacheStatus::miss:
    case CacheStatus::expired: counters_.cache_misses.inc(); break;
  }
  return found.status;
}

}  // namespace diresolver
