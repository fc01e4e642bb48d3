#include "server/loop_watch.hpp"

namespace diresolver {

LoopWatch::LoopWatch(std::vector<Heartbeat> workers, int64_t now_ms) : observed_ms_(now_ms) {
  for (auto& heartbeat : workers) {
    auto watched = std::make_unique<Watched>();
    watched->heartbeat = std::move(heartbeat);
    watched->last_beat = watched->heartbeat();
    watched->last_turn_ms.store(now_ms, std::memory_order_relaxed);
    workers_.push_back(std::move(watched));
  }
}

void LoopWatch::observe(int64_t now_ms) {
  for (auto& worker : workers_) {
    auto beat = worker->heartbeat();
    if (beat == worker->last_beat) continue;
    worker->last_beat = beat;
    worker->last_turn_ms.store(now_ms, std::memory_order_relaxed);
  }
  observed_ms_.store(now_ms, std::memory_order_relaxed);
}

std::optional<std::string> LoopWatch::hung(int64_t now_ms) const {
  auto silent = [now_ms](const std::atomic<int64_t>& since) { return now_ms - since.load(std::memory_order_relaxed); };
  if (auto ms = silent(observed_ms_); ms > hung_after_ms)
    return "the control loop has not turned for " + std::to_string(ms) + " ms";
  for (size_t i = 0; i < workers_.size(); ++i)
    if (auto ms = silent(workers_[i]->last_turn_ms); ms > hung_after_ms)
      return "worker " + std::to_string(i) + "'s event loop has not turned for " + std::to_string(ms) + " ms";
  return std::nullopt;
}

}  // namespace diresolver
