#include "server/responder.hpp"

#include "dns/response.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"

namespace diresolver {

void ClientResponder::send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) {
  count(client, answer);
  auto tapped = [&](Transport transport, dns::Bytes sent) {
    tap_.client_response(client.address, transport, sent, Instant{client.received_ns});
    return sent;
  };
  if (client.tcp) return client.tcp->send(tapped(Transport::tcp, answer));
  if (!client.udp) return;
  if (answer.size() > query.max_udp_answer()) {
    counters_.truncated_to_client.inc();
    auto cut = dns::make_truncated(answer, query);
    return client.udp->send(client.address, tapped(Transport::udp, cut));
  }
  client.udp->send(client.address, tapped(Transport::udp, answer));
}

void ClientResponder::count(const Client& client, dns::Bytes answer) {
  if (answer.size() >= dns::header_size) counters_.responses_by_rcode[static_cast<size_t>(dns::rcode_of(answer))].inc();
  if (client.received_ns) counters_.latency.observe(latency_bounds_us, (uv_hrtime() - client.received_ns) / 1000);
}

}  // namespace diresolver
