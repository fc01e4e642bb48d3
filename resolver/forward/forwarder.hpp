// The forwarder: one per worker, owning the transactions in flight. Its
// attempts come from the worker's transport kit (or a test's scripted
// exchanges) and its time from a ForwardClock on the worker's loop (or a test's
// manual time). A finished transaction is cleared at the end of the loop turn
// (its callbacks are still on the stack before that) and kept as a spare for a
// later query, up to `max_spares`: a cache miss then costs no transaction set-up.
#pragma once

#include <memory>
#include <vector>

#include "forward/transaction.hpp"
#include "uv/end_of_turn.hpp"

namespace diresolver {

class Forwarder {
 public:
  Forwarder(uv::TimeSource time, const UpstreamSettings& settings, WorkerCounters& counters,
            ExchangeFactory& exchanges, Tap* tap = nullptr);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Forwards `packet` (the client's query; `query` its parsed form) to `set`;
  // `listener` hears of it under `tag` (ForwardListener). `now` is when the
  // query arrived. The transaction returned lives at least until the
  // listener's on_done for `tag`, which may have come already.
  Transaction& forward(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, ForwardListener& listener,
                       uint32_t tag, Instant now);
  void set_settings(const UpstreamSettings& settings) { context_.settings = settings; }
  // Shutdown: drops every query in flight without calling its listener.
  void cancel_all();
  size_t in_flight() const { return live_.size(); }

 private:
  static constexpr size_t max_spares = 1024;
  std::unique_ptr<Transaction> take_spare();
  void ended(Transaction* transaction);
  void recycle();

  ForwardClock clock_;  // outlives every transaction below: their timers unlink when destroyed
  ForwardContext context_;
  uint32_t rotation_ = 0;
  std::vector<std::unique_ptr<Transaction>> live_;     // each knows its slot here
  std::vector<std::unique_ptr<Transaction>> resting_;  // ended this turn
  std::vector<std::unique_ptr<Transaction>> spare_;
  uv::EndOfTurn recycle_turn_;
};

}  // namespace diresolver
