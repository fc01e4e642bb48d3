// One attempt: one query sent to one upstream server over one transport,
// ending in an answer or an UpstreamError.
//
// An exchange reports exactly once, through `done`, as the last thing it does;
// its owner may retire it from inside that callback but frees it only later
// (the Forwarder's graveyard), because libuv frames are still on the stack.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "dns/query.hpp"
#include "metrics/counters.hpp"
#include "upstream/error.hpp"
#include "transport/query_id.hpp"
#include "upstream/upstream.hpp"

namespace diresolver {

// `answer` points into the buffer the answer was read into: valid only during
// the `done` callback (the whole relay to the client runs inside it), and
// writable, so the client's ID can be put back in place. Whoever keeps it copies.
struct ExchangeResult {
  bool ok = false;
  UpstreamError error = UpstreamError::timeout;
  std::span<uint8_t> answer;
};

using ExchangeDone = std::function<void(ExchangeResult&&)>;

struct ExchangeRequest {
  uv_loop_t* loop;
  const Upstream* server;  // lives as long as the Runtime
  dns::Bytes packet;               // the query with this attempt's ID; read only in start()
  const dns::ParsedQuery* query;   // what the answer must match
  uint32_t timeout_ms;
  WorkerCounters* counters;
  std::vector<uint8_t>* scratch;   // the worker's receive buffer: reads are sequential per loop
  QueryIdSource* ids;              // for a fresh ID when one clashes on a shared TCP connection
};

// What an upstream datagram or TCP message means for an attempt: the result to
// finish with, or nullopt when it is not the answer (counted as mismatched; the
// attempt keeps waiting). Every transport judges answers here.
std::optional<ExchangeResult> judge_answer(std::span<uint8_t> answer, uint16_t sent_id,
                                           const ExchangeRequest& request);
// The attempt's time is up (counted): `mismatched` if only impostors answered.
ExchangeResult timed_out(const ExchangeRequest& request, bool saw_mismatch);

class Exchange {
 public:
  virtual ~Exchange() = default;
  // false: failed at once (no callback will come); the caller records `network`.
  virtual bool start() = 0;
};

}  // namespace diresolver
