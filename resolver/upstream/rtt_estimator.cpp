#include "upstream/rtt_estimator.hpp"

namespace diresolver {

void RttEstimator::add_sample(uint32_t rtt_us, int64_t now_ms) {
  uint32_t next = rtt_us;
  bool raised = raised_by_timeouts_.exchange(false, std::memory_order_relaxed);
  if (sampled_.load(std::memory_order_relaxed) && !raised) {
    int64_t old = srtt_us(now_ms);  // decayed value: a long-idle server restarts from near its new sample
    next = static_cast<uint32_t>(old + (static_cast<int64_t>(rtt_us) - old) / 8);
  }
  srtt_us_.store(next, std::memory_order_relaxed);
  last_sample_ms_.store(now_ms, std::memory_order_relaxed);
  sampled_.store(true, std::memory_order_relaxed);
}

// Blended, never taken whole: one lost datagram must not make a server look
// ten times slower than its partner. And only until the server answers again:
// that answer's RTT replaces the estimate, so a server back from an outage is
// preferred again at its first answer, not eight answers later.
void RttEstimator::add_lower_bound(uint32_t at_least_us, int64_t now_ms) {
  int64_t old = srtt_us(now_ms);
  if (at_least_us <= old) return;
  srtt_us_.store(static_cast<uint32_t>(old + (static_cast<int64_t>(at_least_us) - old) / 8), std::memory_order_relaxed);
  last_sample_ms_.store(now_ms, std::memory_order_relaxed);
  raised_by_timeouts_.store(true, std::memory_order_relaxed);
}

uint32_t RttEstimator::srtt_us(int64_t now_ms) const {
  uint32_t srtt = srtt_us_.load(std::memory_order_relaxed);
  if (!sampled_.load(std::memory_order_relaxed)) return srtt;
  int64_t idle = now_ms - last_sample_ms_.load(std::memory_order_relaxed);
  if (idle <= decay_ms) return srtt;
  auto halvings = idle / decay_ms;
  return halvings >= 32 ? 0 : srtt >> halvings;
}

}  // namespace diresolver
