#include "server/query_handler.hpp"

#include "dns/edns.hpp"
#include "dns/response.hpp"

namespace diresolver {

QueryHandler::QueryHandler(RuntimePtr runtime, MissPath& misses, PacketCache* cache, Responder& responder,
                           const std::atomic<bool>& di_open, WorkerCounters& counters, Tap& tap)
    : runtime_(std::move(runtime)),
      misses_(misses),
      cache_(cache),
      responder_(responder),
      di_open_(di_open),
      counters_(counters),
      tap_(tap),
      time_responses_(runtime_->config.admin.listen.has_value()) {
  cached_.reserve(65536 + 64);
}

bool QueryHandler::handle(dns::Bytes packet, Client client) {
  auto now = Instant::now();
  if (time_responses_ || tap_.wants_client_messages()) client.received_ns = now.ns;
  (client.tcp ? counters_.queries_tcp : counters_.queries_udp).inc();
  tap_.client_query(client.address, client.tcp ? Transport::tcp : Transport::udp, packet, now);
  auto check = dns::check_query(packet);
  if (over_rate_limit(client, now)) return refused_for_rate(packet, check, client);
  if (answered_at_once(packet, check, client)) return check.verdict != dns::QueryVerdict::drop;
  const auto& query = check.query;
  if (refused_by_acl(packet, query, client) || refused_by_policy(packet, query, client)) return true;
  const Route* route = route_or_refuse(packet, query, client);
  if (!route || held_by_gate(packet, query, *route, client)) return true;
  auto cached = answer_from_cache(packet, query, *route, client, now);
  if (cached == CacheStatus::hit || cached == CacheStatus::stale) return true;
  if (dropped_at_capacity()) return false;
  misses_.forward(packet, query, set_of(*route), runtime_->generation, client, cached == CacheStatus::expired, now);
  return true;
}

// Every packet counts, malformed ones too: a flood of garbage is a rate like any other.
bool QueryHandler::over_rate_limit(const Client& client, Instant now) {
  auto* limiter = runtime_->limiter.get();
  if (!limiter) return false;
  switch (limiter->admit(client.address.get(), now.ns)) {
    case RateLimiter::Verdict::pass: return false;
    case RateLimiter::Verdict::untracked: counters_.rate_untracked.inc(); return false;
    case RateLimiter::Verdict::limited: return true;
  }
  return false;
}

// Dropped by default (a REFUSED to a spoofed flood is a reflection); REFUSED,
// if configured, to well-formed queries only. True when answered.
bool QueryHandler::refused_for_rate(dns::Bytes packet, const dns::QueryCheck& check, const Client& client) {
  bool refuse = runtime_->limiter->settings().action == LimitAction::refuse && check.verdict == dns::QueryVerdict::ok;
  if (!refuse) {
    counters_.rate_dropped.inc();
    return false;
  }
  counters_.rate_refused.inc();
  send(client, check.query, dns::make_reply(packet, check.query, {dns::Rcode::refused}));
  return true;
}

// Unbound's num-queries-per-thread: when every slot waits on an upstream, a
// new miss is dropped, and the client's retry finds room once slow ones end.
bool QueryHandler::dropped_at_capacity() {
  if (!at_capacity()) return false;
  counters_.in_flight_dropped.inc();
  return true;
}

// What check_query says cannot go on: dropped, or answered as Unbound does.
bool QueryHandler::answered_at_once(dns::Bytes packet, const dns::QueryCheck& check, const Client& client) {
  using dns::QueryVerdict, dns::Rcode;
  auto reply = [&](Counter& counter, dns::Reply how) {
    counter.inc();
    send(client, check.query, dns::make_reply(packet, check.query, how));
    return true;
  };
  switch (check.verdict) {
    case QueryVerdict::ok: return false;
    case QueryVerdict::drop: counters_.malformed.inc(); return true;
    case QueryVerdict::formerr: return reply(counters_.malformed, {Rcode::formerr, {}, false});
    case QueryVerdict::notimp: return reply(counters_.notimp, {Rcode::notimp, {}, false});
    case QueryVerdict::notify: return reply(counters_.notify_refused, {Rcode::refused});
    case QueryVerdict::badvers: return reply(counters_.badvers, {Rcode::badvers});
  }
  return true;
}

bool QueryHandler::refused_by_acl(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
  if (runtime_->acl.allows(client.address.get())) return false;
  counters_.acl_refused.inc();
  send(client, query, dns::make_reply(packet, query, {dns::Rcode::refused, dns::Ede::prohibited, false}));
  return true;
}

// What a forwarder does not forward, refused at once as Unbound refuses it:
// classes other than IN (CHAOS identity names included: diresolver tells no
// one its version or host name), zone transfers, and RD=0 (answering those
// from the cache would let any client see what others asked: cache snooping).
bool QueryHandler::refused_by_policy(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
  constexpr uint16_t ixfr = 251, axfr = 252;
  auto refuse = [&](Counter& counter, bool recursion_available) {
    counter.inc();
    send(client, query, dns::make_reply(packet, query, {dns::Rcode::refused, {}, recursion_available}));
    return true;
  };
  if (query.qclass != dns::class_in) return refuse(counters_.class_refused, true);
  if (query.qtype == axfr || query.qtype == ixfr) return refuse(counters_.transfer_refused, false);
  if (!(query.flags & dns::flag::rd)) return refuse(counters_.no_recursion_refused, true);
  return false;
}

const Route* QueryHandler::route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client) {
  const Route* route = runtime_->router.lookup(query.name());
  if (route) {
    counters_.routed[route->counter_slot].inc();
    return route;
  }
  // Not an open resolver: without a default set, only the configured zones are served.
  counters_.no_route_refused.inc();
  send(client, query, dns::make_reply(packet, query, {dns::Rcode::refused}));
  return nullptr;
}

// Until forwarding to the DI servers has been validated, DI names get
// SERVFAIL with EDE 14 (Not Ready) rather than a guess; other names flow.
bool QueryHandler::held_by_gate(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route,
                                const Client& client) {
  if (route.kind != RouteKind::di || di_open_.load(std::memory_order_relaxed)) return false;
  counters_.not_ready.inc();
  send(client, query, dns::make_reply(packet, query, {dns::Rcode::servfail, dns::Ede::not_ready}));
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
      if (found.prefetch && !at_capacity()) misses_.refresh(packet, query, set_of(route), runtime_->generation, now);
      dns::finish_answer(cached_, packet, query);
      send(client, query, cached_);
      break;
    case CacheStatus::stale:
      counters_.cache_stale_served.inc();
      dns::finish_answer(cached_, packet, query, dns::Ede::stale_answer);
      send(client, query, cached_);
      if (!at_capacity()) misses_.refresh(packet, query, set_of(route), runtime_->generation, now);
      break;
    case CacheStatus::miss:
    case CacheStatus::expired: counters_.cache_misses.inc(); break;
  }
  return found.status;
}

}  // namespace diresolver
