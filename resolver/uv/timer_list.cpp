#include "uv/timer_list.hpp"

namespace diresolver::uv {

void ListTimer::stop() {
  if (list_) list_->unlink(*this);
}

TimerList::TimerList(uv_loop_t* loop) : loop_(loop) {
  if (uv_timer_init(loop, wakeup_.get()) == 0) wakeup_.adopt(this);
}

void TimerList::start(ListTimer& timer, uint64_t timeout_ms, ListTimer::Fire fire, void* owner) {
  timer.stop();
  if (!wakeup_.is_open()) return;
  timer.due_ms_ = uv_now(loop_) + timeout_ms;
  timer.fire_ = fire;
  timer.owner_ = owner;
  insert_sorted(timer);
  if (timer.due_ms_ < armed_for_ms_) arm_for_head();
}

// Equal due times keep their start order.
void TimerList::insert_sorted(ListTimer& timer) {
  ListTimer* before = tail_;
  while (before && before->due_ms_ > timer.due_ms_) before = before->prev_;
  timer.prev_ = before;
  timer.next_ = before ? before->next_ : head_;
  (timer.next_ ? timer.next_->prev_ : tail_) = &timer;
  (before ? before->next_ : head_) = &timer;
  timer.list_ = this;
}

void TimerList::unlink(ListTimer& timer) {
  (timer.prev_ ? timer.prev_->next_ : head_) = timer.next_;
  (timer.next_ ? timer.next_->prev_ : tail_) = timer.prev_;
  timer.prev_ = timer.next_ = nullptr;
  timer.list_ = nullptr;
}

void TimerList::arm_for_head() {
  if (!head_) return;
  uint64_t now = uv_now(loop_);
  armed_for_ms_ = head_->due_ms_;
  uv_timer_start(wakeup_.get(), on_wakeup, armed_for_ms_ > now ? armed_for_ms_ - now : 0, 0);
}

void TimerList::on_wakeup(uv_timer_t* handle) {
  auto* self = Handle<uv_timer_t>::owner_of<TimerList>(handle);
  if (self) self->fire_due();
}

// A callback may start or stop timers of this list, the head included: each
// turn of the loop takes the head afresh.
void TimerList::fire_due() {
  armed_for_ms_ = not_armed;
  uint64_t now = uv_now(loop_);
  while (head_ && head_->due_ms_ <= now) {
    ListTimer& due = *head_;
    unlink(due);
    due.fire_(due.owner_);
  }
  if (armed_for_ms_ == not_armed) arm_for_head();
}

void TimerList::close() {
  while (head_) unlink(*head_);
  wakeup_.close();
}

}  // namespace diresolver::uv
