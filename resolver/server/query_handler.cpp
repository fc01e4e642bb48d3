#include "server/query_handler.hpp"

#include "dns/response.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"

namespace diresolver {

void QueryHandler::handle(dns::Bytes packet, const Client& client) {
  (client.tcp ? counters_.queries_tcp : counters_.queries_udp).inc();
  auto check = dns::check_query(packet);
  if (rejected_as_malformed(packet, check, client)) return;
  const auto& query = check.query;
  if (refused_by_acl(packet, query, client)) return;
  const Route* route = route_or_refuse(packet, query, client);
  if (!route) return;
  forwarder_.forward(packet, query, runtime_.sets[route->set_index],
                     [this, client, query](ForwardOutcome&& outcome) {
                       relay(client, query, std::move(outcome));
                     });
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
  if (runtime_.acl.allows(client.address.get())) return false;
  counters_.acl_refused.inc();
  send(client, query, dns::make_reply(packet, query, dns::Rcode::refused, dns::Ede::prohibited));
  return true;
}

const Route* QueryHandler::route_or_refuse(dns::Bytes packet, const dns::ParsedQuery& query,
                                           const Client& client) {
  const Route* route = runtime_.router.lookup(query.name());
  if (route) return route;
  // Not an open resolver: without a default set, only the configured zones are served.
  counters_.no_route_refused.inc();
  send(client, query, dns::make_reply(packet, query, dns::Rcode::refused));
  return nullptr;
}

void QueryHandler::relay(const Client& client, const dns::ParsedQuery& query, ForwardOutcome&& outcome) {
  if (outcome.ok) {
    counters_.answered.inc();
    dns::set_id(outcome.answer, query.id);
    return send(client, query, std::move(outcome.answer));
  }
  counters_.servfail.inc();
  // RFC 8914: 22 when nobody answered in time, 23 when the network said no.
  auto ede = outcome.last_error == UpstreamError::network ? dns::Ede::network_error
                                                          : dns::Ede::no_reachable_authority;
  send(client, query, dns::make_reply(outcome.query_packet, query, dns::Rcode::servfail, ede));
}

void QueryHandler::send(const Client& client, const dns::ParsedQuery& query, std::vector<uint8_t>&& answer) {
  if (client.tcp) return client.tcp->send(answer);
  if (answer.size() > query.max_udp_answer()) {
    counters_.truncated_to_client.inc();
    answer = dns::make_truncated(answer, query);
  }
  client.udp->send(client.address, answer);
}

}  // namespace diresolver
