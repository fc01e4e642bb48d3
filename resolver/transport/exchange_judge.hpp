// How every transport judges what came back for an attempt.
#pragma once

#include <optional>

#include "metrics/counters.hpp"
#include "transport/exchange.hpp"

namespace diresolver {

// What an upstream datagram or TCP message means for an attempt: the result
// to finish with (an answer without the upstream's OPT record), or nullopt
// when it is not the answer (counted as ignored; the attempt keeps waiting).
std::optional<ExchangeResult> judge_answer(std::span<uint8_t> answer, uint16_t sent_id, const dns::ParsedQuery& query,
                                           WorkerCounters& counters);
// The attempt's time is up: `mismatched` if only impostors answered.
ExchangeResult timed_out(bool saw_mismatch);

}  // namespace diresolver
