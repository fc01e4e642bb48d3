// Deferred destruction for objects that finish inside their own callbacks.
//
// A transaction or connection often learns it is done while one of its libuv
// callbacks is still on the stack; deleting it there would pull the floor from
// under that frame. bury() keeps the object until the loop's next check phase,
// after all of this iteration's callbacks have returned (uv/end_of_turn.hpp).
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "uv/end_of_turn.hpp"

namespace diresolver::uv {

template <class T>
class Graveyard {
 public:
  explicit Graveyard(uv_loop_t* loop)
      : end_of_turn_(
            loop, [](void* self) { static_cast<Graveyard*>(self)->free_the_dead(); }, this) {}
  Graveyard(const Graveyard&) = delete;
  Graveyard& operator=(const Graveyard&) = delete;

  void bury(std::unique_ptr<T> object) {
    if (!object) return;
    dead_.push_back(std::move(object));
    end_of_turn_.arm();  // if it cannot, the dead wait for close()
  }
  // Frees everything now and stops watching (shutdown, outside any callback).
  void close() {
    dead_.clear();
    dying_.clear();
    end_of_turn_.close();
  }

 private:
  // Destructors may bury more; those wait for the next turn. Two vectors take
  // turns so neither is reallocated turn after turn.
  void free_the_dead() {
    dying_.swap(dead_);
    dying_.clear();
  }

  EndOfTurn end_of_turn_;
  std::vector<std::unique_ptr<T>> dead_;
  std::vector<std::unique_ptr<T>> dying_;
};

}  // namespace diresolver::uv
