// The forwarder: one per worker. It owns what that worker's upstream traffic
// needs (query IDs, the receive buffer, pooled UDP sockets and TCP connections) and the
// transactions in flight, and frees finished ones on the loop's next turn.
#pragma once

#include <uv.h>

#include <memory>
#include <unordered_map>

#include "upstream/transaction.hpp"

namespace diresolver {

class Forwarder {
 public:
  Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // `packet` is the client's query; `query` its parsed form. `done` is called
  // once, unless it is empty (a background refresh) or on_slow answered first.
  void forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, ForwardDone done,
               ForwardOptions options = {});
  void set_settings(const UpstreamSettings& settings) { context_.settings = settings; }
  // Where every transaction's first valid answer goes (the cache).
  void set_answer_sink(AnswerSink sink) { context_.sink = std::move(sink); }
  // Shutdown: drops every query in flight without calling its callback.
  void cancel_all();
  size_t in_flight() const { return live_.size(); }

 private:
  void ended(Transaction* transaction);

  WorkerCounters& counters_;
  QueryIdSource ids_;
  std::vector<uint8_t> scratch_;
  TcpPool tcp_;
  UdpSocketPool udp_;  // outlives every exchange below: they leave its sockets when destroyed
  uv::Graveyard<Exchange> dead_exchanges_;
  uv::Graveyard<Transaction> dead_transactions_;
  ForwardContext context_;
  uint32_t rotation_ = 0;
  std::unordered_map<Transaction*, std::unique_ptr<Transaction>> live_;
};

}  // namespace diresolver
