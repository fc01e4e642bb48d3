// One client query's path through a worker, as a few named steps:
//   check the packet → ACL → route → forward → relay the answer (or SERVFAIL).
// Each step either answers the client itself or hands on; nothing here blocks.
#pragma once

#include "dns/query.hpp"
#include "metrics/counters.hpp"
#include "server/client.hpp"
#include "server/runtime.hpp"
#include "upstream/forwarder.hpp"

namespace diresolver {

class QueryHandler {
 public:
  QueryHandler(const Runtime& runtime, Forwarder& forwarder, WorkerCounters& counters)
      : runtime_(runtime), forwarder_(forwarder), counters_(counters) {}

  void handle(dns::Bytes packet, const Client& client);

 private:
  bool rejected_as_malformed(dns::Bytes packet, const dns::QueryCheck& check, const Client& client);
  bool refused_by_acl(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  const Route* route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query, const Client& client);
  void relay(const Client& client, const dns::ParsedQuery& query, ForwardOutcome&& outcome);
  void send(const Client& client, const dns::ParsedQuery& query, std::vector<uint8_t>&& answer);

  const Runtime& runtime_;
  Forwarder& forwarder_;
  WorkerCounters& counters_;
};

}  // namespace diresolver
