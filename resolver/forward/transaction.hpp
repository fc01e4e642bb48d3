// One client query's journey through an upstream set.
//
// The query goes to the first server of the set's order. If no answer came
// within that server's hedge delay, it also goes to the next (a hedge); a
// failure (timeout, network error, an error RCODE, a malformed answer) moves
// on to the next server at once. Once every server has been asked, a server
// whose attempt timed out is asked again (a lost datagram), while it is up and
// has been asked fewer than `tries` times, each wait twice the last. A
// truncated UDP answer is asked again of the same server over TCP. Silence,
// network errors and garbage count against a server's health; an error RCODE
// does not (it is about the query, and a client chooses the query). The first valid answer goes to the listener at
// once; attempts still in flight run on until they answer or time out, so every server's health and RTT learn from live
// traffic (their answers count as late). The transaction ends when nothing is in flight, or at the client deadline,
// which abandons whatever still runs; the listener then gets the outcome: answered, or failed with the last error and
// the last answer that carried an error RCODE, if one came (the listener chooses between relaying it, a stale answer,
// and SERVFAIL with an Extended DNS Error). When the listener answers the client itself meanwhile (a stale answer), it
// says so with client_answered(): no more hedges or failovers, and the attempts in flight only refresh the cache.
//
// Two seams keep it testable without sockets or a wall clock: attempts come
// from an ExchangeFactory, time from a ForwardClock.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "dnstap/tap.hpp"
#include "forward/forward_clock.hpp"
#include "metrics/counters.hpp"
#include "transport/exchange.hpp"
#include "transport/exchange_judge.hpp"
#include "upstream/upstream_set.hpp"

namespace diresolver {

enum class ForwardStatus { answered, failed };

class Transaction;

struct ForwardOutcome {
  ForwardStatus status = ForwardStatus::failed;
  UpstreamError last_error = UpstreamError::timeout;  // failed: what the last attempt ran into
  // failed: the last answer with an error RCODE (SERVFAIL, REFUSED, ...), or
  // empty. Writable, for the client's ID; valid during on_done only.
  std::span<uint8_t> fallback;
  dns::Bytes query_packet;  // the client's query as forwarded; valid during on_done only
  Instant now;
  Transaction* transaction = nullptr;  // the one ending: its attempts, during on_done only
};

// What a transaction reports, for the `tag` it was started with.
class ForwardListener {
 public:
  // The first valid answer, once, as soon as it comes (writable, for the
  // client's ID; valid during the call only). Attempts may run on after it.
  virtual void on_answer(uint32_t tag, std::span<uint8_t> answer, Instant now) = 0;
  // The transaction has ended: the last call for `tag`.
  virtual void on_done(uint32_t tag, ForwardOutcome&& outcome) = 0;

 protected:
  ~ForwardListener() = default;
};

// What transactions share within one worker.
struct ForwardContext {
  UpstreamSettings settings;  // replaced on reload; each transaction reads it as it goes
  WorkerCounters& counters;
  ForwardClock& clock;
  ExchangeFactory& exchanges;
  Tap* tap = nullptr;  // dnstap's forwarder messages; null in tests
};

// A transaction is reused for query after query (the Forwarder keeps spares):
// its timers, buffers and exchanges are made once, so a cache miss allocates
// nothing here once the worker has warmed up.
class Transaction {
 public:
  enum class Phase {
    idle,        // cleared, or never started
    waiting,     // no valid answer yet, and the client waits for one
    refreshing,  // no valid answer yet, but the client was answered elsewhere: no more tries
    answered,    // the listener has the answer; attempts still in flight run on
    ended,       // the listener has the outcome
  };
  using Ended = std::function<void(Transaction*)>;
  enum class Role {
    first,     // the first server of the order
    failover,  // the next server, after a failure
    hedge,     // the next server, after a hedge delay without an answer
    retry,     // a server asked again after its attempt timed out
  };
  // One query sent to one server, and what came of it (the query log tells them).
  struct Attempt {
    size_t server;  // index in the set
    Transport transport;
    Role role;
    uint64_t sent_ns;
    uint64_t done_ns = 0;                // 0: in flight, or abandoned at the deadline
    std::optional<UpstreamError> error;  // once done: none for an answer (rcode, truncated)
    dns::Rcode rcode = dns::Rcode::noerror;
    bool truncated = false;
  };

  Transaction(ForwardContext& context, Ended ended);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // `set` is held until the transaction ends: a reload may replace it meanwhile.
  void start(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, ServerOrder order, ForwardListener& listener,
             uint32_t tag, Instant now);
  // The listener answered the client itself (serve-stale's timer): the
  // attempts in flight run on, and the first valid answer still reaches it.
  void client_answered();
  // After `ended`, outside its callbacks: forgets the query, ready for the next.
  void clear();
  Phase phase() const { return phase_; }
  // While started: the attempts so far, and the set whose servers they name.
  std::span<const Attempt> attempts() const { return attempts_; }
  const UpstreamSet& set() const { return *set_; }
  size_t live_slot = 0;  // the Forwarder's bookkeeping

 private:
  // The exchanges of one transport, kept from query to query.
  struct KeptExchanges {
    std::vector<std::unique_ptr<Exchange>> kept;
    size_t used = 0;
  };

  struct Next {
    size_t server;
    bool again;  // from the retry queue
  };
  bool anyone_left() const;
  std::optional<Next> next_server();
  void queue_retry(size_t server);
  bool launch_next(Role role, Instant now);
  bool launch(size_t server, Transport transport, Role role, Instant now);
  Exchange& unused_exchange(Transport transport);
  void abandon_attempts();
  void on_result(size_t attempt, ExchangeResult&& result);
  static void note_result(Attempt& attempt, const ExchangeResult& result, Instant now);
  void tap_answer(const Attempt& attempt, std::span<const uint8_t> answer);
  void blame_error_answers(const Attempt& answered, Instant now);
  void retry_over_tcp(const Attempt& attempt, Instant now);
  void take_answer(const Attempt& attempt, std::span<uint8_t> answer, Instant now);
  void count_failure(const Attempt& attempt, UpstreamError error);
  void record_failure(const Attempt& attempt, UpstreamError error, Instant now);
  void move_on(Instant now);
  void end_if_quiet(Instant now);
  void end(ForwardStatus status, Instant now);
  void arm_hedge(const Upstream& server, Instant now, uint32_t extra_ms = 0);
  static void on_hedge(void* self);
  static void on_deadline(void* self);
  uint32_t attempt_timeout_ms(size_t server_index, Instant now) const;
  uint32_t hedge_delay_ms(const Upstream& server, Instant now) const;

  ForwardContext& context_;
  Ended ended_;
  Phase phase_ = Phase::idle;
  std::vector<uint8_t> packet_;
  dns::ParsedQuery query_;
  SetPtr set_;
  ServerOrder order_;
  size_t next_ = 0;                                          // the next server of order_ to try
  std::array<uint8_t, ServerOrder::capacity> tries_used_{};  // by server index
  std::vector<uint8_t> retry_queue_;                         // servers to ask again, in turn
  size_t retried_ = 0;                                       // how many of them were
  ForwardListener* listener_ = nullptr;
  uint32_t tag_ = 0;
  std::vector<Attempt> attempts_;
  std::array<KeptExchanges, enum_count<Transport>> exchanges_;
  size_t in_flight_ = 0;
  UpstreamError last_error_ = UpstreamError::timeout;
  std::vector<uint8_t> fallback_answer_;
  uv::ListTimer hedge_timer_;
  uv::ListTimer deadline_timer_;
  StallGrace deadline_grace_;  // a deadline met only because the loop stalled waits one turn for what arrived
};

}  // namespace diresolver
