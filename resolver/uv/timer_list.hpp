// Timers of one kind that share a single libuv timer.
//
// A cache miss started three libuv timers (the query's deadline, its hedge
// delay, its attempt's timeout) and stopped them when the answer came: six
// operations on libuv's binary heap, each walking about log2(timers) nodes
// spread over as many transactions; under load that was 2.4 % of a miss.
// Timers of one list should have about one duration (a kind, and for hedges
// and attempts one server: uv/timer_lists.hpp), so they fall due in
// about the order they start. Kept sorted by due time, a start appends
// (walking back from the tail only past timers due later) and a stop unlinks:
// constant time in the steady state. One libuv timer is armed for
// the head; stopping the head leaves it armed, and that wakeup finds nothing
// due and re-arms for the new head. Due times are on the loop's clock, as
// libuv's own timers are.
//
// The clock is a TimeSource: a libuv loop's, or a ManualTime that a unit test
// sets and advances (no loop, no wall clock: a transaction's hedges, timeouts
// and deadline then run in microseconds, in a known order).
#pragma once

#include <uv.h>

#include <cstdint>
#include <vector>

#include "util/clock.hpp"
#include "uv/handle.hpp"

namespace diresolver::uv {

class TimerList;

// Time that a test sets: advance_to() fires every due timer of every list made
// on it, earliest first, with now() at each one's due time.
class ManualTime {
 public:
  ManualTime() = default;
  ManualTime(const ManualTime&) = delete;
  ManualTime& operator=(const ManualTime&) = delete;

  Instant now() const { return now_; }
  void advance_to(Instant when);
  void advance_ms(uint64_t ms) { advance_to({now_.ns + ms * 1'000'000}); }
  // Time passes and nothing fires, as on a stalled loop: the next advance fires late.
  void stall_ms(uint64_t ms) { now_ = {now_.ns + ms * 1'000'000}; }

 private:
  friend class TimerList;
  TimerList* earliest_due(uint64_t by_ms) const;
  Instant now_{1'000'000'000};  // not 0: nothing should mistake the start for "never"
  std::vector<TimerList*> lists_;
};

// Where a timer list reads the time and how it wakes up.
class TimeSource {
 public:
  static TimeSource of_loop(uv_loop_t* loop) { return TimeSource(loop, nullptr); }
  static TimeSource manual(ManualTime& time) { return TimeSource(nullptr, &time); }

  uv_loop_t* loop() const { return loop_; }  // nullptr for manual time
  ManualTime* manual_time() const { return manual_; }
  // The loop's cached time (as libuv's timers use), or the manual time.
  uint64_t now_ms() const { return loop_ ? uv_now(loop_) : static_cast<uint64_t>(manual_->now().ms()); }
  // A fresh reading of the monotonic clock, or the manual time.
  Instant now() const { return loop_ ? Instant::now() : manual_->now(); }

 private:
  TimeSource(uv_loop_t* loop, ManualTime* manual) : loop_(loop), manual_(manual) {}
  uv_loop_t* loop_;
  ManualTime* manual_;
};

// One timer of a list, embedded in its owner; never copied or moved.
class ListTimer {
 public:
  using Fire = void (*)(void* owner);
  ListTimer() = default;
  ~ListTimer() { stop(); }
  ListTimer(const ListTimer&) = delete;
  ListTimer& operator=(const ListTimer&) = delete;

  bool active() const { return list_ != nullptr; }
  void stop();

 private:
  friend class TimerList;
  friend class ManualTime;
  TimerList* list_ = nullptr;  // set while started
  ListTimer* prev_ = nullptr;
  ListTimer* next_ = nullptr;
  uint64_t due_ms_ = 0;
  Fire fire_ = nullptr;
  void* owner_ = nullptr;
};

class TimerList {
 public:
  explicit TimerList(uv_loop_t* loop) : TimerList(TimeSource::of_loop(loop)) {}
  explicit TimerList(TimeSource time);
  ~TimerList() { close(); }
  TimerList(const TimerList&) = delete;
  TimerList& operator=(const TimerList&) = delete;

  // (Re)starts `timer`: `fire(owner)` runs once, `timeout_ms` from the loop's now.
  void start(ListTimer& timer, uint64_t timeout_ms, ListTimer::Fire fire, void* owner);
  // Stops every timer and releases the libuv timer; starts after this do nothing.
  void close();
  bool is_open() const { return open_; }
  // Inside a callback: how long after its due time it fired. A stalled loop
  // (descheduled, or a long turn) fires timers late, and libuv runs timers
  // before it reads sockets: what arrived meanwhile has not been read yet.
  uint64_t lateness_ms() const { return firing_lateness_ms_; }

 private:
  friend class ListTimer;
  friend class ManualTime;
  void insert_sorted(ListTimer& timer);
  void unlink(ListTimer& timer);
  void arm_for_head();
  static void on_wakeup(uv_timer_t* handle) noexcept;
  void fire_due();

  TimeSource time_;
  Handle<uv_timer_t> wakeup_;  // with a loop only
  bool open_ = false;
  ListTimer* head_ = nullptr;  // due first
  ListTimer* tail_ = nullptr;
  static constexpr uint64_t not_armed = UINT64_MAX;
  uint64_t armed_for_ms_ = not_armed;  // the due time the libuv timer fires at
  uint64_t firing_lateness_ms_ = 0;
};

}  // namespace diresolver::uv
