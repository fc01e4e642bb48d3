// Smoothed round-trip time of one server, shared by all workers.
//
// An exponentially weighted average (weight 1/8, as TCP's SRTT in RFC 6298)
// kept in relaxed atomics: two workers updating at once may lose a sample,
// which costs nothing, while a lock here would make workers wait on each
// other. Without fresh samples the estimate halves every `decay_ms`, so a
// server that was slow once is tried again instead of being shunned forever.
// A timeout says what the RTT is at least: without it a server whose answers
// all come too late would keep the estimate of its last answer and keep being
// asked first.
#pragma once

#include <atomic>
#include <cstdint>

namespace diresolver {

class RttEstimator {
 public:
  // Before any sample: a guess typical of a WAN path, refined by the first probe.
  static constexpr uint32_t initial_us = 20'000;
  static constexpr int64_t decay_ms = 2'000;

  void add_sample(uint32_t rtt_us, int64_t now_ms);
  void add_lower_bound(uint32_t at_least_us, int64_t now_ms);  // only ever raises the estimate
  uint32_t srtt_us(int64_t now_ms) const;

 private:
  std::atomic<uint32_t> srtt_us_{initial_us};
  std::atomic<int64_t> last_sample_ms_{0};
  std::atomic<bool> sampled_{false};
  std::atomic<bool> raised_by_timeouts_{false};
};

}  // namespace diresolver
