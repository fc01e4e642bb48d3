// Time as a worker's transactions see it: the clock, and timer lists for
// their deadlines and hedge delays (one list per server for hedges, whose
// delay follows the server's RTT: uv/timer_lists.hpp). On a worker it is the
// loop's time; a unit test hands in a ManualTime and steps through hedges,
// timeouts and deadlines without a loop or a wall clock.
#pragma once

#include "upstream/upstream.hpp"
#include "uv/timer_lists.hpp"

namespace diresolver {

class ForwardClock {
 public:
  explicit ForwardClock(uv::TimeSource time) : time_(time), deadlines_(time), hedges_(time) {}

  Instant now() const { return time_.now(); }
  uv::TimerList& deadlines() { return deadlines_; }
  uv::TimerList& hedges_after(const Upstream& server) { return hedges_.of(server.id()); }
  // Every timer stops; starting one afterwards does nothing.
  void close() {
    deadlines_.close();
    hedges_.close();
  }

 private:
  uv::TimeSource time_;
  uv::TimerList deadlines_;
  uv::TimerListsById hedges_;
};

}  // namespace diresolver
