// How every transport judges what came back for an attempt.
#pragma once

#include <optional>

#include "metrics/counters.hpp"
#include "transport/exchange.hpp"
#include "uv/timer_list.hpp"

namespace diresolver {

// What an upstream datagram or TCP message means for an attempt: the result
// to finish with (an answer without the upstream's OPT record), or nullopt
// when it is not the answer (counted as ignored; the attempt keeps waiting).
std::optional<ExchangeResult> judge_answer(std::span<uint8_t> answer, uint16_t sent_id, const dns::ParsedQuery& query,
                                           WorkerCounters& counters);
// The attempt's time is up: `mismatched` if only impostors answered.
ExchangeResult timed_out(bool saw_mismatch);

// An attempt's timeout that fires late fired on a stalled loop, and libuv runs
// timers before it reads sockets: the answer may be waiting unread, and the
// server is not to blame for our stall. So once per attempt such a timeout
// waits one more turn (1 ms: libuv 1.44 would run a 0 ms timer in the same
// timer phase, before the reads). True when it did; `granted` remembers it.
struct StallGrace {
  static constexpr uint64_t late_ms = 3;  // a loop on time fires within a millisecond
  bool granted = false;
  bool wait_once_more(uv::TimerList& timeouts, uv::ListTimer& timer, uv::ListTimer::Fire fire, void* owner,
                      WorkerCounters& counters);
};

}  // namespace diresolver
