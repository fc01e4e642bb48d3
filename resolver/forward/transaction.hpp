// One client query's journey through an upstream set.
//
// The query goes to the first server of the set's order. If no answer came
// within that server's hedge delay, it also goes to the next; a failure
// (timeout, network error, SERVFAIL, REFUSED, malformed answer) moves on to
// the next server at once. The first valid answer is delivered; answers that
// arrive later are counted as late and dropped. Attempts still in flight keep
// running after delivery until they answer or time out, so every server's
// health and RTT learn from live traffic. The client deadline ends everything.
// If every server failed: status all_failed, with the last SERVFAIL/REFUSED
// answer if there was one (the caller may serve stale, relay it, or answer
// SERVFAIL with an Extended DNS Error). The first valid answer also goes to
// the forwarder's answer sink (the cache), even when it comes too late for
// the client. With `slow_after_ms`, `on_slow` is asked once at that time
// whether it answered the client itself (serve-stale's client response timer).
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "transport/exchange.hpp"
#include "forward/forward_timers.hpp"
#include "transport/pooled_udp_exchange.hpp"
#include "transport/query_id.hpp"
#include "transport/tcp_exchange.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

enum class ForwardStatus { answered, all_failed };

struct ForwardOutcome {
  ForwardStatus status = ForwardStatus::all_failed;
  // The upstream's answer (upstream ID); for all_failed, its last SERVFAIL/REFUSED or
  // empty. Valid during the callback only; writable, for the client's ID.
  std::span<uint8_t> answer;
  UpstreamError last_error = UpstreamError::timeout;
  dns::Bytes query_packet;      // the client's query as sent (valid during the callback only)
};

using ForwardDone = std::function<void(ForwardOutcome&&)>;
// `generation` is the forwarding ForwardOptions' own, handed back untouched.
using AnswerSink =
    std::function<void(const dns::ParsedQuery& query, dns::Bytes answer, int64_t now_ms, uint64_t generation)>;

struct ForwardOptions {
  uint32_t slow_after_ms = 0;
  std::function<bool()> on_slow;     // true: the client has been answered
  std::shared_ptr<const void> keep_alive;  // what owns the set (the runtime), held until the transaction ends
  uint64_t generation = 0;                 // of that runtime: for the answer sink
};

// What transactions share within one worker.
struct ForwardContext {
  uv_loop_t* loop;
  UpstreamSettings settings;  // replaced on reload; each transaction reads it as it goes
  WorkerCounters& counters;
  QueryIdSource& ids;
  std::vector<uint8_t>& scratch;
  TcpPool& tcp;
  UdpSocketPool& udp;
  ForwardTimers& timers;
  AnswerSink sink;
};

// A transaction is reused for query after query (the Forwarder keeps spares):
// its timers, buffers and UDP attempts are made once, so a cache miss
// allocates nothing here once the worker has warmed up.
class Transaction {
 public:
  using Ended = std::function<void(Transaction*)>;
  Transaction(ForwardContext& context, Ended ended);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void start(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, ServerOrder order,
             ForwardDone done, ForwardOptions options, Instant now);
  // After `ended`, outside its callbacks: forgets the query, ready for the next.
  void clear();
  size_t live_slot = 0;  // the Forwarder's bookkeeping

 private:
  enum class Transport { udp, tcp };
  struct Attempt {
    size_t server;
    Transport transport;
    bool hedge;
    uint64_t sent_ns;
    Exchange* exchange;  // owned below; finished ones stay until clear()
  };

  bool launch_next(bool hedge, Instant now);
  bool launch(size_t server, Transport transport, bool hedge, Instant now, bool count_hedge = true);
  Exchange* make_exchange(Transport transport, const ExchangeRequest& request, ExchangeDone done);
  void stop_attempts();
  void on_result(size_t attempt, ExchangeResult&& result);
  void on_answer(const Attempt& attempt, std::span<uint8_t> answer, Instant now);
  void on_failure(const Attempt& attempt, UpstreamError error, Instant now);
  void move_on(Instant now);
  void deliver(ForwardOutcome&& outcome);
  void give_up(Instant now);
  void end_if_done();
  void arm_hedge(const Upstream& server, Instant now);
  static void on_hedge(void* self);
  static void on_deadline(void* self);
  static void on_slow(void* self);
  uint32_t attempt_timeout_ms(const Upstream& server, Instant now) const;

  ForwardContext& context_;
  Ended ended_;
  std::vector<uint8_t> packet_;
  dns::ParsedQuery query_;
  const UpstreamSet* set_ = nullptr;
  ServerOrder order_;
  size_t next_ = 0;
  ForwardDone done_;
  ForwardOptions options_;
  bool sunk_ = false;  // the first valid answer went to the sink
  std::vector<Attempt> attempts_;
  // Each attempt of one query has its own exchange; UDP ones are kept for the next query.
  std::vector<std::unique_ptr<PooledUdpExchange>> udp_exchanges_;
  size_t udp_exchanges_used_ = 0;
  std::vector<std::unique_ptr<TcpExchange>> tcp_exchanges_;
  size_t in_flight_ = 0;
  bool delivered_ = false;
  bool ended_called_ = false;
  UpstreamError last_error_ = UpstreamError::timeout;
  std::vector<uint8_t> fallback_answer_;  // the last SERVFAIL/REFUSED, relayed if nothing better comes
  uv::ListTimer hedge_timer_;
  uv::ListTimer deadline_timer_;
  uv::ListTimer slow_timer_;
};

}  // namespace diresolver
