// Deferred destruction for objects that finish inside their own callbacks.
//
// A transaction or connection often learns it is done while one of its libuv
// callbacks is still on the stack; deleting it there would pull the floor from
// under that frame. bury() keeps the object until the loop's next check phase,
// after all of this iteration's callbacks have returned.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "uv/handle.hpp"

namespace diresolver::uv {

template <class T>
class Graveyard {
 public:
  explicit Graveyard(uv_loop_t* loop) {
    if (uv_check_init(loop, check_.get()) == 0) check_.adopt(this);
  }
  Graveyard(const Graveyard&) = delete;
  Graveyard& operator=(const Graveyard&) = delete;

  void bury(std::unique_ptr<T> object) {
    if (!object) return;
    dead_.push_back(std::move(object));
    if (check_.is_open()) uv_check_start(check_.get(), on_check);
  }
  // Frees everything now and stops watching (shutdown, outside any callback).
  void close() {
    dead_.clear();
    dying_.clear();
    check_.close();
  }

 private:
  static void on_check(uv_check_t* check) {
    auto* self = Handle<uv_check_t>::owner_of<Graveyard>(check);
    if (!self) return;
    // Destructors may bury more; those wait for the next turn. Two vectors
    // take turns so neither is reallocated turn after turn.
    self->dying_.swap(self->dead_);
    self->dying_.clear();
    if (self->dead_.empty()) uv_check_stop(check);
  }

  Handle<uv_check_t> check_;
  std::vector<std::unique_ptr<T>> dead_;
  std::vector<std::unique_ptr<T>> dying_;
};

}  // namespace diresolver::uv
