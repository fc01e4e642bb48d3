// One worker's side of the dnstap log: each event of a query's path becomes a
// dnstap message, encoded here and queued for the log's I/O thread without
// waiting. Which messages are written is [dnstap]'s choice; when dnstap is off
// (or the message type is), a call costs one branch.
//
//   client query      → CLIENT_QUERY       (from the client, as read)
//   answer to client  → CLIENT_RESPONSE    (as sent, with the query's time)
//   query to upstream → FORWARDER_QUERY    (the server asked, the zone routed by)
//   upstream answer   → FORWARDER_RESPONSE (with the attempt's send time)
#pragma once

#include <cstdint>
#include <span>

#include "config/config.hpp"
#include "metrics/counters.hpp"
#include "net/address.hpp"
#include "transport/exchange.hpp"
#include "util/clock.hpp"

struct fstrm_iothr;
struct fstrm_iothr_queue;
struct Dnstap__Message;

namespace diresolver {

class DnstapLog;

class Tap {
 public:
  explicit Tap(WorkerCounters& counters) : counters_(counters) {}
  // The log this worker writes to (null: dnstap off), through its queue
  // `index`; `settings` say which messages (a reload may change them).
  void use(const DnstapLog* log, unsigned index, const DnstapSettings& settings);

  using Bytes = std::span<const uint8_t>;
  void client_query(const SockAddr& client, Transport protocol, Bytes query, Instant received);
  void client_response(const SockAddr& client, Transport protocol, Bytes answer, Instant received);
  void forwarder_query(const SockAddr& server, Transport protocol, Bytes zone, Bytes query, Instant sent);
  void forwarder_response(const SockAddr& server, Transport protocol, Bytes zone, Bytes answer, Instant sent);

  bool wants_client_messages() const { return client_queries_ || client_responses_; }

 private:
  struct Event;
  void write(const Event& event);
  static void set_peer(Dnstap__Message& message, const Event& event);
  static void set_times(Dnstap__Message& message, const Event& event);
  void submit(Dnstap__Message& message);

  WorkerCounters& counters_;
  const DnstapLog* log_ = nullptr;
  fstrm_iothr* thread_ = nullptr;
  fstrm_iothr_queue* queue_ = nullptr;
  bool client_queries_ = false, client_responses_ = false;
  bool forwarder_queries_ = false, forwarder_responses_ = false;
};

}  // namespace diresolver
