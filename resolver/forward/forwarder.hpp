// The forwarder: one per worker. It owns what that worker's upstream traffic
// needs (query IDs, the receive buffer, pooled UDP sockets and TCP connections) and the
// transactions in flight. A finished transaction is cleared at the end of the loop
// turn (its callbacks are still on the stack before that) and kept as a spare for a
// later query, up to `max_spares`: a cache miss then costs no transaction set-up.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "forward/transaction.hpp"
#include "uv/end_of_turn.hpp"

namespace diresolver {

class Forwarder {
 public:
  Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // `packet` is the client's query; `query` its parsed form. `done` is called
  // once, unless it is empty (a background refresh) or on_slow answered first.
  // `now` is when the query arrived, if the caller has read the clock already.
  void forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, ForwardDone done,
               ForwardOptions options = {}, Instant now = Instant::now());
  void set_settings(const UpstreamSettings& settings) { context_.settings = settings; }
  // Where every transaction's first valid answer goes (the cache).
  void set_answer_sink(AnswerSink sink) { context_.sink = std::move(sink); }
  // Shutdown: drops every query in flight without calling its callback.
  void cancel_all();
  size_t in_flight() const { return live_.size(); }

 private:
  static constexpr size_t max_spares = 1024;
  std::unique_ptr<Transaction> take_spare();
  void ended(Transaction* transaction);
  void recycle();

  WorkerCounters& counters_;
  QueryIdSource ids_;
  std::vector<uint8_t> scratch_;
  TcpPool tcp_;
  UdpSocketPool udp_;  // outlives every exchange below: they leave its sockets when destroyed
  ForwardTimers timers_;  // outlives every transaction below: their timers unlink when destroyed
  ForwardContext context_;
  uint32_t rotation_ = 0;
  std::vector<std::unique_ptr<Transaction>> live_;     // each knows its slot here
  std::vector<std::unique_ptr<Transaction>> resting_;  // ended this turn
  std::vector<std::unique_ptr<Transaction>> spare_;
  uv::EndOfTurn recycle_turn_;
};

}  // namespace diresolver
