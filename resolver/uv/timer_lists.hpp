// Timer lists by server id, for timers whose duration follows a server's RTT
// (hedge delays, attempt timeouts). In one shared list, every start of a fast
// server's short timer would walk past all the in-flight long ones of a slow
// server, which under load and failover is thousands of steps; one list per
// server keeps each list in about due order (uv/timer_list.hpp).
#pragma once

#include <memory>
#include <vector>

#include "uv/timer_list.hpp"

namespace diresolver::uv {

class TimerListsById {
 public:
  explicit TimerListsById(TimeSource time) : time_(time), closed_(time) { closed_.close(); }

  // Made on an id's first use, so a warm worker allocates nothing here; a
  // closed list once close() has run (starting a timer on it does nothing).
  TimerList& of(unsigned id) {
    if (is_closed_) return closed_;
    if (id >= lists_.size()) lists_.resize(id + 1);
    if (!lists_[id]) lists_[id] = std::make_unique<TimerList>(time_);
    return *lists_[id];
  }
  void close() {
    for (auto& list : lists_)
      if (list) list->close();
    is_closed_ = true;
  }

 private:
  TimeSource time_;
  std::vector<std::unique_ptr<TimerList>> lists_;
  TimerList closed_;
  bool is_closed_ = false;
};

}  // namespace diresolver::uv
