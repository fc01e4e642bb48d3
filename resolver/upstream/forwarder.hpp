// The forwarder: one per worker, it carries client queries to an upstream set
// and reports one outcome per query.
//
// A Transaction walks the set's server order: UDP to the first server; a
// truncated answer is asked again over TCP of the same server; a timeout or
// error moves on to the next server; when every server failed, the outcome
// is a failure and the caller answers SERVFAIL. Each attempt uses a fresh
// random ID. Finished transactions and exchanges are freed on the next loop
// turn (a uv_check "graveyard"), never inside their own callbacks.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "upstream/exchange.hpp"
#include "upstream/query_id.hpp"
#include "uv/handle.hpp"

namespace diresolver {

struct ForwardOutcome {
  bool ok = false;
  std::vector<uint8_t> answer;            // the upstream's answer, with the upstream ID
  UpstreamError last_error = UpstreamError::timeout;
  dns::Bytes query_packet;  // the client's query as sent (valid during the callback only)
};

using ForwardDone = std::function<void(ForwardOutcome&&)>;

class Forwarder {
 public:
  Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // `packet` is the client's query; `query` its parsed form.
  void forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, ForwardDone done);
  // Shutdown: drops every query in flight without calling its callback.
  void cancel_all();
  size_t in_flight() const { return live_.size(); }

 private:
  class Transaction;
  friend class Transaction;
  void retire(std::unique_ptr<Exchange> exchange);
  void finished(Transaction* transaction);
  static void on_check(uv_check_t* check);

  uv_loop_t* loop_;
  UpstreamSettings settings_;
  WorkerCounters& counters_;
  QueryIdSource ids_;
  std::vector<uint8_t> scratch_;
  std::unordered_map<Transaction*, std::unique_ptr<Transaction>> live_;
  std::vector<std::unique_ptr<Transaction>> dead_transactions_;
  std::vector<std::unique_ptr<Exchange>> dead_exchanges_;
  uv::Handle<uv_check_t> graveyard_;
};

}  // namespace diresolver
