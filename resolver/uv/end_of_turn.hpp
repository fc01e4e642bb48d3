// Work put off to the end of the current loop turn: libuv's check phase, after
// every I/O callback of the turn has run and before the loop sleeps again.
//
// Used to write a turn's datagrams with one system call. While armed, an idle
// handle keeps the turn's poll from sleeping, so work armed in a timer
// callback (before the poll) is not held back until the next I/O arrives.
#pragma once

#include <uv.h>

#include "uv/boundary.hpp"
#include "uv/handle.hpp"

namespace diresolver::uv {

class EndOfTurn {
 public:
  using Work = void (*)(void* owner);

  // Without a loop (a unit test on manual time) it never arms: callers do the work then.
  EndOfTurn(uv_loop_t* loop, Work work, void* owner) : work_(work), owner_(owner) {
    if (!loop) return;
    if (uv_check_init(loop, check_.get()) == 0) check_.adopt(this);
    if (uv_idle_init(loop, idle_.get()) == 0) idle_.adopt(this);
  }
  EndOfTurn(const EndOfTurn&) = delete;
  EndOfTurn& operator=(const EndOfTurn&) = delete;

  // false if the handles could not be set up: the caller does the work now.
  bool arm() {
    if (!check_.is_open() || !idle_.is_open()) return false;
    if (armed_) return true;
    armed_ = true;
    uv_check_start(check_.get(), on_check);
    uv_idle_start(idle_.get(), [](uv_idle_t*) noexcept {});
    return true;
  }
  void close() {
    armed_ = false;
    check_.close();
    idle_.close();
  }

 private:
  static void on_check(uv_check_t* check) noexcept {
    at_boundary("EndOfTurn::on_check", [&] {
      auto* self = Handle<uv_check_t>::owner_of<EndOfTurn>(check);
      if (!self) return;
      self->armed_ = false;  // first: the work may arm the next turn
      uv_check_stop(check);
      uv_idle_stop(self->idle_.get());
      self->work_(self->owner_);
    });
  }

  Work work_;
  void* owner_;
  Handle<uv_check_t> check_;
  Handle<uv_idle_t> idle_;
  bool armed_ = false;
};

}  // namespace diresolver::uv
