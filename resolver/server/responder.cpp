#include "server/responder.hpp"

#include "dns/response.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"

namespace diresolver {

void ClientResponder::send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) {
  count(client, answer);
  if (client.tcp) {
    tap_.client_response(client.address, Transport::tcp, answer, Instant{client.received_ns});
    return client.tcp->send(answer);
  }
  if (!client.udp) return;
  if (answer.size() > query.max_udp_answer()) {
    counters_.truncated_to_client.inc();
    auto cut = dns::make_truncated(answer, query);
    tap_.client_response(client.address, Transport::udp, cut, Instant{client.received_ns});
    return client.udp->send(client.address, cut);
  }
  tap_.client_response(client.address, Transport::udp, answer, Instant{client.received_ns});
  client.udp->send(client.address, answer);
}

void ClientResponder::count(const Client& client, dns::Bytes answer) {
  if (answer.size() >= dns::header_size) counters_.responses_by_rcode[static_cast<size_t>(dns::rcode_of(answer))].inc();
  if (client.received_ns) counters_.latency.observe(latency_bounds_us, (uv_hrtime() - client.received_ns) / 1000);
}

}  // namespace diresolver
