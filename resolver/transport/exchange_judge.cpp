#include "transport/exchange_judge.hpp"

#include "dns/edns.hpp"
#include "dns/response.hpp"

namespace diresolver {

std::optional<ExchangeResult> judge_answer(std::span<uint8_t> answer, uint16_t sent_id, const dns::ParsedQuery& query,
                                           WorkerCounters& counters) {
  switch (dns::check_upstream_answer(answer, sent_id, query)) {
    case dns::AnswerCheck::mismatched: counters.upstream_mismatched.inc(); return std::nullopt;
    case dns::AnswerCheck::malformed: return ExchangeResult::failed(UpstreamError::malformed);
    case dns::AnswerCheck::ok: break;
  }
  // EDNS is hop by hop: the upstream's OPT stops here, before the cache or a client.
  auto size = dns::without_opt(answer, query.question_end);
  if (!size) return ExchangeResult::failed(UpstreamError::malformed);  // an OPT we cannot drop
  return ExchangeResult::answered(answer.first(*size));
}

ExchangeResult timed_out(bool saw_mismatch) {
  // Only impostors (or garbage) answered: say so, it is a different problem from silence.
  return ExchangeResult::failed(saw_mismatch ? UpstreamError::mismatched : UpstreamError::timeout);
}

bool StallGrace::wait_once_more(uv::TimerList& timeouts, uv::ListTimer& timer, uv::ListTimer::Fire fire, void* owner,
                                WorkerCounters& counters) {
  if (granted || timeouts.lateness_ms() < late_ms) return false;
  granted = true;
  counters.late_timeouts.inc();
  timeouts.start(timer, 1, fire, owner);
  return true;
}

}  // namespace diresolver
