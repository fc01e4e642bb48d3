// One client query's path through a worker, as a few named steps:
//   check the packet → rate limit → ACL → what is never forwarded → route → readiness gate
//   → cache → in-flight limit → the miss path (server/miss_path.hpp: forward, then relay, serve
//   stale or SERVFAIL).
// Each step either answers the client itself or hands on; nothing here blocks.
#pragma once

#include <atomic>

#include "cache/packet_cache.hpp"
#include "dns/query.hpp"
#include "metrics/counters.hpp"
#include "server/client.hpp"
#include "server/miss_path.hpp"
#include "server/responder.hpp"
#include "server/runtime.hpp"

namespace diresolver {

class QueryHandler {
 public:
  // `cache` may be null (caching disabled); `di_open` is the readiness gate.
  QueryHandler(RuntimePtr runtime, MissPath& misses, PacketCache* cache, Responder& responder,
               const std::atomic<bool>& di_open, WorkerCounters& counters, Tap& tap);

  // False when the packet is dropped without an answer; otherwise exactly one
  // answer goes to the client, now or when the upstream has answered.
  bool handle(dns::Bytes packet, Client client);
  // A reload: queries from now on use `runtime`; those in flight keep theirs.
  void use(RuntimePtr runtime) { runtime_ = std::move(runtime); }

 private:
  bool over_rate_limit(const Client& client, Instant now);
  bool refused_for_rate(dns::Bytes packet, const dns::QueryCheck& check, const Client& client);
  bool at_capacity() const { return misses_.open_slots() >= runtime_->config.upstream.max_in_flight; }
  bool dropped_at_capacity();
  bool answered_at_once(dns::Bytes packet, const dns::QueryCheck& check, const Client& client);
  bool refused_by_acl(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  bool refused_by_policy(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  const Route* route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  bool held_by_gate(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route, const Client& client);
  CacheStatus answer_from_cache(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route,
                                const Client& client, Instant now);
  SetPtr set_of(const Route& route) const { return set_in(runtime_, route.set_index); }
  void send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) {
    responder_.send(client, query, answer);
  }

  RuntimePtr runtime_;
  MissPath& misses_;
  PacketCache* cache_;
  Responder& responder_;
  const std::atomic<bool>& di_open_;
  WorkerCounters& counters_;
  Tap& tap_;
  // The latency histogram costs two clock reads per query: only when /metrics can show it.
  bool time_responses_;
  std::vector<uint8_t> cached_;  // a cache hit is copied here: reused, never reallocated
};

}  // namespace diresolver
