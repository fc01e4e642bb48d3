// One client query's path through a worker, as a few named steps:
//   check the packet → ACL → route → readiness gate → cache → forward →
//   relay the answer (or serve stale, or SERVFAIL).
// Each step either answers the client itself or hands on; nothing here blocks.
#pragma once

#include <atomic>

#include "cache/packet_cache.hpp"
#include "dns/query.hpp"
#include "metrics/counters.hpp"
#include "server/client.hpp"
#include "server/pending_clients.hpp"
#include "server/runtime.hpp"
#include "forward/forwarder.hpp"

namespace diresolver {

class QueryHandler {
 public:
  // `cache` may be null (caching disabled); `di_open` is the readiness gate.
  QueryHandler(RuntimePtr runtime, Forwarder& forwarder, PacketCache* cache, const std::atomic<bool>& di_open,
               WorkerCounters& counters);

  // False when the packet is dropped without an answer; otherwise exactly one
  // answer goes to the client, now or when the upstream has answered.
  bool handle(dns::Bytes packet, Client client);
  // A reload: queries from now on use `runtime`; those in flight keep theirs.
  void use(RuntimePtr runtime) { runtime_ = std::move(runtime); }
  // Shutdown, after the forwarder's cancel_all(): lets go of the waiting clients' connections.
  void forget_waiting() { pending_.clear(); }

 private:
  bool rejected_as_malformed(dns::Bytes packet, const dns::QueryCheck& check, const Client& client);
  bool refused_by_acl(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  const Route* route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  bool held_by_gate(dns::Bytes packet, const dns::ParsedQuery& query, const Route& route, const Client& client);
  CacheStatus answer_from_cache(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set,
                                const Client& client, Instant now);
  void forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, const Client& client,
               bool stale_available, Instant now);
  void refresh(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, Instant now);
  bool serve_stale(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  bool serve_stale_while_waiting(uint32_t slot, dns::Bytes packet);
  void relay(const Client& client, const dns::ParsedQuery& query, ForwardOutcome&& outcome);
  void send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer);
  void count_response(const Client& client, dns::Bytes answer);

  RuntimePtr runtime_;
  Forwarder& forwarder_;
  PacketCache* cache_;
  const std::atomic<bool>& di_open_;
  WorkerCounters& counters_;
  // The latency histogram costs two clock reads per query: only when /metrics can show it.
  bool time_responses_;
  std::vector<uint8_t> cached_;  // a cache hit is copied here: reused, never reallocated
  PendingClients pending_;       // cache misses waiting for the forwarder
};

}  // namespace diresolver
