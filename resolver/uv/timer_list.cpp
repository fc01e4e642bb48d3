#include "uv/timer_list.hpp"

#include "uv/boundary.hpp"

namespace diresolver::uv {

void ListTimer::stop() {
  if (list_) list_->unlink(*this);
}

TimerList::TimerList(TimeSource time) : time_(time) {
  if (auto* manual = time_.manual_time()) {
    manual->lists_.push_back(this);
    open_ = true;
  } else if (uv_timer_init(time_.loop(), wakeup_.get()) == 0) {
    wakeup_.adopt(this);
    open_ = true;
  }
}

void TimerList::start(ListTimer& timer, uint64_t timeout_ms, ListTimer::Fire fire, void* owner) {
  timer.stop();
  if (!open_) return;
  timer.due_ms_ = time_.now_ms() + timeout_ms;
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
  if (!head_ || !wakeup_.is_open()) return;  // manual time: the test fires what is due
  uint64_t now = time_.now_ms();
  armed_for_ms_ = head_->due_ms_;
  uv_timer_start(wakeup_.get(), on_wakeup, armed_for_ms_ > now ? armed_for_ms_ - now : 0, 0);
}

void TimerList::on_wakeup(uv_timer_t* handle) noexcept {
  uv::at_boundary("TimerList::on_wakeup", [&] {
    auto* self = Handle<uv_timer_t>::owner_of<TimerList>(handle);
    if (self) self->fire_due();
  });
}

// A callback may start or stop timers of this list, the head included: each
// turn of the loop takes the head afresh.
void TimerList::fire_due() {
  armed_for_ms_ = not_armed;
  uint64_t now = time_.now_ms();
  while (head_ && head_->due_ms_ <= now) {
    ListTimer& due = *head_;
    unlink(due);
    firing_lateness_ms_ = now - due.due_ms_;
    // One timer's exception must not stall the others, nor leave the list unarmed.
    at_boundary("a list timer's callback", [&] { due.fire_(due.owner_); });
  }
  if (armed_for_ms_ == not_armed) arm_for_head();
}

void TimerList::close() {
  while (head_) unlink(*head_);
  wakeup_.close();
  if (auto* manual = time_.manual_time(); manual && open_) std::erase(manual->lists_, this);
  open_ = false;
}

TimerList* ManualTime::earliest_due(uint64_t by_ms) const {
  TimerList* earliest = nullptr;
  for (auto* list : lists_)
    if (list->head_ && list->head_->due_ms_ <= by_ms && (!earliest || list->head_->due_ms_ < earliest->head_->due_ms_))
      earliest = list;
  return earliest;
}

// One timer at a time, so a callback that starts or stops timers in other
// lists is seen before the next one fires.
void ManualTime::advance_to(Instant when) {
  auto by_ms = static_cast<uint64_t>(when.ms());
  while (auto* list = earliest_due(by_ms)) {
    ListTimer& due = *list->head_;
    if (due.due_ms_ * 1'000'000 > now_.ns) now_ = {due.due_ms_ * 1'000'000};
    list->firing_lateness_ms_ = static_cast<uint64_t>(now_.ms()) - due.due_ms_;
    list->unlink(due);
    due.fire_(due.owner_);
  }
  if (when.ns > now_.ns) now_ = when;
}

}  // namespace diresolver::uv
