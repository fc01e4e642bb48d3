// Where every answer to a client leaves: over UDP, cut to a TC=1 header and
// question when it exceeds the client's UDP size (RFC 1035 §4.2.1), or over
// TCP; counted by RCODE and, when the query's arrival was timed, its latency
// observed. An interface, so the miss path's unit tests can see the answers.
#pragma once

#include "dns/query.hpp"
#include "dnstap/tap.hpp"
#include "metrics/counters.hpp"
#include "server/client.hpp"

namespace diresolver {

class Responder {
 public:
  virtual ~Responder() = default;
  virtual void send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) = 0;
};

class ClientResponder final : public Responder {
 public:
  ClientResponder(WorkerCounters& counters, Tap& tap) : counters_(counters), tap_(tap) {}
  void send(const Client& client, const dns::ParsedQuery& query, dns::Bytes answer) override;

 private:
  void count(const Client& client, dns::Bytes answer);
  WorkerCounters& counters_;
  Tap& tap_;
};

}  // namespace diresolver
