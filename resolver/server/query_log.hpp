// The query log for humans ([log] queries): one line per answer the miss path
// gives a client, naming the client, the question, the route, each server
// asked with what came of it and when, and what the client got:
//
//   info: query 127.0.0.1#40312 x.acme.amer.wxc-di.webex.com. A via di:amer: SERVFAIL EDE 22 after 1501 ms;
//         asked IAD 127.0.0.11:53 udp: timeout at 400 ms, DFW 127.0.0.12:53 udp: timeout at 1100 ms
//
// "failures" logs what an operator chases when a phone cannot register
// (SERVFAIL, an upstream's REFUSED or SERVFAIL relayed, a stale answer, an
// answer slower than slow_ms); "all" every answer the miss path gives. At most
// max_lines_per_second lines a second per worker; the next line written after
// a full second says how many were left out.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "dns/query.hpp"
#include "dns/wire.hpp"
#include "forward/forward_clock.hpp"
#include "forward/transaction.hpp"
#include "net/address.hpp"

namespace diresolver {

struct AnsweredQuery {
  const SockAddr& client;
  const dns::ParsedQuery& query;
  dns::Bytes answer;                   // as the client gets it
  std::optional<dns::Ede> ede;         // the EDE diresolver added, if any
  const Transaction* transaction;      // its attempts so far; null if it is gone
  Instant started, now;
};

class QueryLog {
 public:
  void use(const LogSettings& settings) { settings_ = settings; }
  void answered(const AnsweredQuery& q);

  // The line, without the level: public for the unit tests.
  static std::string line(const AnsweredQuery& q);

 private:
  bool wanted(const AnsweredQuery& q) const;
  bool within_rate(int64_t now_ms);

  LogSettings settings_;
  int64_t window_start_ms_ = 0;
  uint32_t lines_in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace diresolver
