// The monotonic clock, read once per event and handed along.
//
// A cache miss used to read it about ten times (cache, server order, attempt
// timeout, hedge delay, send time, RTT, health, store, latency); each read is
// a vDSO call that costs tens of nanoseconds on a VM, together more than the
// cache lookup. Now a query's arrival and an answer's arrival each take one
// reading, and the steps of that event use it.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>

namespace diresolver {

struct Instant {
  uint64_t ns = 0;  // CLOCK_MONOTONIC, as uv_hrtime() and std::chrono::steady_clock read it

  int64_t ms() const { return static_cast<int64_t>(ns / 1'000'000); }
  static Instant now() { return {uv_hrtime()}; }
};

// Milliseconds on the monotonic clock: one time base for all threads.
inline int64_t monotonic_ms() { return Instant::now().ms(); }

// Wall-clock time since the Unix epoch, for what people read: log lines,
// timestamps in /status and the metrics. Never for measuring intervals.
inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
inline int64_t unix_s() { return unix_ms() / 1000; }

}  // namespace diresolver
