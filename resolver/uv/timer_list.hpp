// Timers of one kind that share a single libuv timer.
//
// A cache miss started three libuv timers (the query's deadline, its hedge
// delay, its attempt's timeout) and stopped them when the answer came: six
// operations on libuv's binary heap, each walking about log2(timers) nodes
// spread over as many transactions; under load that was 2.4 % of a miss.
// Timers of one list should have about one duration (a kind, and for hedges
// and attempts one server: forward/forward_timers.hpp), so they fall due in
// about the order they start. Kept sorted by due time, a start appends
// (walking back from the tail only past timers due later) and a stop unlinks:
// constant time in the steady state. One libuv timer is armed for
// the head; stopping the head leaves it armed, and that wakeup finds nothing
// due and re-arms for the new head. Due times are on the loop's clock, as
// libuv's own timers are.
#pragma once

#include <uv.h>

#include <cstdint>

#include "uv/handle.hpp"

namespace diresolver::uv {

class TimerList;

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
  TimerList* list_ = nullptr;  // set while started
  ListTimer* prev_ = nullptr;
  ListTimer* next_ = nullptr;
  uint64_t due_ms_ = 0;
  Fire fire_ = nullptr;
  void* owner_ = nullptr;
};

class TimerList {
 public:
  explicit TimerList(uv_loop_t* loop);
  ~TimerList() { close(); }
  TimerList(const TimerList&) = delete;
  TimerList& operator=(const TimerList&) = delete;

  // (Re)starts `timer`: `fire(owner)` runs once, `timeout_ms` from the loop's now.
  void start(ListTimer& timer, uint64_t timeout_ms, ListTimer::Fire fire, void* owner);
  // Stops every timer and releases the libuv timer; starts after this do nothing.
  void close();
  bool is_open() const { return wakeup_.is_open(); }

 private:
  friend class ListTimer;
  void insert_sorted(ListTimer& timer);
  void unlink(ListTimer& timer);
  void arm_for_head();
  static void on_wakeup(uv_timer_t* handle);
  void fire_due();

  uv_loop_t* loop_;
  Handle<uv_timer_t> wakeup_;
  ListTimer* head_ = nullptr;  // due first
  ListTimer* tail_ = nullptr;
  static constexpr uint64_t not_armed = UINT64_MAX;
  uint64_t armed_for_ms_ = not_armed;  // the due time the libuv timer fires at
};

}  // namespace diresolver::uv
