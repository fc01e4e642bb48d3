#include "transport/exchange.hpp"

#include "dns/response.hpp"

namespace diresolver {

std::optional<ExchangeResult> judge_answer(std::span<uint8_t> answer, uint16_t sent_id,
                                           const ExchangeRequest& request) {
  switch (dns::check_upstream_answer(answer, sent_id, *request.query)) {
    case dns::AnswerCheck::mismatched:
      request.counters->upstream_mismatched.inc();
      return std::nullopt;
    case dns::AnswerCheck::malformed:
      request.counters->upstream_malformed.inc();
      return ExchangeResult{false, UpstreamError::malformed, {}};
    case dns::AnswerCheck::ok:
      break;
  }
  return ExchangeResult{true, UpstreamError::timeout, answer};
}

ExchangeResult timed_out(const ExchangeRequest& request, bool saw_mismatch) {
  request.counters->upstream_timeouts.inc();
  // Only impostors (or garbage) answered: say so, it is a different problem from silence.
  return {false, saw_mismatch ? UpstreamError::mismatched : UpstreamError::timeout, {}};
}

}  // namespace diresolver
