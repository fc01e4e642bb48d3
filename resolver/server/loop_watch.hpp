// Whether the event loops still turn: every worker's (its heartbeat ticks
// every 100 ms) and the control loop's own, which looks at the others.
//
// The control loop calls observe() on a timer; hung() may be read from any
// thread (civetweb's, for /readyz?for=address). A loop silent for longer than
// `hung_after_ms` is hung: its clients get no answer, so the node should hand
// the service address to one whose loops turn, and systemd's watchdog should
// restart it. A control loop that stops observing reads as hung too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace diresolver {

class LoopWatch {
 public:
  // Long enough for a busy host's scheduling stalls (hundreds of ms under two
  // busy loops on two cores), short against a client's retry after 1-5 s.
  static constexpr int64_t hung_after_ms = 2'000;

  using Heartbeat = std::function<uint64_t()>;
  LoopWatch(std::vector<Heartbeat> workers, int64_t now_ms);

  void observe(int64_t now_ms);  // the control loop, every ~100 ms
  // "worker 1's event loop has not turned for 2300 ms", or nullopt while all turn.
  std::optional<std::string> hung(int64_t now_ms) const;

 private:
  struct Watched {
    Heartbeat heartbeat;
    uint64_t last_beat = 0;                // the control loop's alone
    std::atomic<int64_t> last_turn_ms{0};  // read by other threads
  };
  std::vector<std::unique_ptr<Watched>> workers_;
  std::atomic<int64_t> observed_ms_;
};

}  // namespace diresolver
