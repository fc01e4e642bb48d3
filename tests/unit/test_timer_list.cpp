// Timers sharing one libuv timer: each fires once, in due order, after its
// own timeout on a real loop; stopped ones never fire; a callback may start
// and stop others; close() silences the rest.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "uv/timer_list.hpp"
#include "uv/timer_lists.hpp"

using diresolver::uv::ListTimer;
using diresolver::uv::TimerList;

namespace {

struct Probe {
  Probe(std::string n, std::vector<std::string>* f) : name(std::move(n)), fired(f) {}
  std::string name;
  std::vector<std::string>* fired;
  uint64_t started_ms = 0;
  uint64_t fired_after_ms = 0;
  ListTimer timer;
  static void fire(void* owner) {
    auto* self = static_cast<Probe*>(owner);
    self->fired->push_back(self->name);
    self->fired_after_ms = uv_now(uv_default_loop()) - self->started_ms;
  }
};

void run_until_idle(uv_loop_t* loop) {
  while (uv_run(loop, UV_RUN_ONCE) != 0) {
  }
}

}  // namespace

TEST_CASE("list timers fire in due order, each after its own timeout, stopped ones never") {
  uv_loop_t* loop = uv_default_loop();
  std::vector<std::string> fired;
  {
    TimerList list(loop);
    Probe slow{"slow", &fired}, fast{"fast", &fired}, stopped{"stopped", &fired}, middle{"middle", &fired};
    for (Probe* p : {&slow, &fast, &stopped, &middle}) p->started_ms = uv_now(loop);
    list.start(slow.timer, 60, Probe::fire, &slow);
    list.start(fast.timer, 10, Probe::fire, &fast);  // due before the head: the wakeup moves earlier
    list.start(stopped.timer, 5, Probe::fire, &stopped);
    list.start(middle.timer, 30, Probe::fire, &middle);
    stopped.timer.stop();  // the head, stopped: its wakeup finds nothing due and waits on
    CHECK_FALSE(stopped.timer.active());
    CHECK(middle.timer.active());
    uv_update_time(loop);
    run_until_idle(loop);  // keeps running while the list's wakeup is armed
    CHECK(fired == std::vector<std::string>{"fast", "middle", "slow"});
    CHECK(fast.fired_after_ms >= 10);
    CHECK(middle.fired_after_ms >= 30);
    CHECK(slow.fired_after_ms >= 60);
    CHECK_FALSE(slow.timer.active());
  }
  run_until_idle(loop);  // the list's libuv timer closes
}

TEST_CASE("a firing timer may restart itself and stop another; close() silences what is left") {
  uv_loop_t* loop = uv_default_loop();
  struct Chain {
    TimerList* list = nullptr;
    ListTimer timer, victim, survivor;
    int rounds = 0;
    bool victim_fired = false, survivor_fired = false;
    static void tick(void* owner) {
      auto* self = static_cast<Chain*>(owner);
      if (++self->rounds == 1) self->victim.stop();
      if (self->rounds < 3)
        self->list->start(self->timer, 1, tick, self);
      else
        self->list->close();
    }
  };
  TimerList list(loop);
  Chain chain;
  chain.list = &list;
  list.start(
      chain.victim, 20, [](void* c) { static_cast<Chain*>(c)->victim_fired = true; }, &chain);
  list.start(
      chain.survivor, 500, [](void* c) { static_cast<Chain*>(c)->survivor_fired = true; }, &chain);
  list.start(chain.timer, 1, Chain::tick, &chain);
  run_until_idle(loop);
  CHECK(chain.rounds == 3);
  CHECK_FALSE(chain.victim_fired);
  CHECK_FALSE(chain.survivor_fired);  // closed before its time: the loop ended long before 500 ms
  CHECK_FALSE(chain.survivor.active());
  list.start(chain.timer, 1, Chain::tick, &chain);  // after close: nothing
  CHECK_FALSE(chain.timer.active());
}

TEST_CASE("timer lists by server id: one list per server, none after close") {
  uv_loop_t* loop = uv_default_loop();
  diresolver::uv::TimerListsById lists(diresolver::uv::TimeSource::of_loop(loop));
  // A slow server's long timers must not lie in the list a fast server's short ones are sorted into.
  CHECK(&lists.of(0) != &lists.of(1));
  CHECK(&lists.of(0) == &lists.of(0));
  CHECK(lists.of(1).is_open());
  lists.close();
  for (unsigned id : {0u, 1u, 7u}) CHECK_FALSE(lists.of(id).is_open());
  diresolver::uv::ListTimer late;
  lists.of(0).start(
      late, 1, [](void*) {}, nullptr);
  CHECK_FALSE(late.active());
  run_until_idle(loop);
}

TEST_CASE("manual time fires due timers of every list in due order, with now() at each one's due time") {
  diresolver::uv::ManualTime time;
  auto source = diresolver::uv::TimeSource::manual(time);
  TimerList first(source), second(source);
  struct Seen {
    diresolver::uv::ManualTime* time;
    std::vector<std::pair<std::string, uint64_t>> fired;
    uint64_t start_ms;
  } seen{&time, {}, static_cast<uint64_t>(time.now().ms())};
  struct Named {
    std::string name;
    Seen* seen;
    ListTimer timer;
    static void fire(void* self) {
      auto* n = static_cast<Named*>(self);
      n->seen->fired.emplace_back(n->name, n->seen->time->now().ms() - n->seen->start_ms);
    }
  };
  Named a{"a", &seen, {}}, b{"b", &seen, {}}, c{"c", &seen, {}}, late{"late", &seen, {}};
  first.start(a.timer, 30, Named::fire, &a);
  second.start(b.timer, 10, Named::fire, &b);
  first.start(c.timer, 20, Named::fire, &c);
  second.start(late.timer, 100, Named::fire, &late);
  time.advance_ms(50);
  CHECK(seen.fired == std::vector<std::pair<std::string, uint64_t>>{{"b", 10}, {"c", 20}, {"a", 30}});
  CHECK(time.now().ms() - seen.start_ms == 50);
  CHECK(late.timer.active());
  second.close();  // a closed list fires nothing, and is forgotten by the time
  time.advance_ms(100);
  CHECK(seen.fired.size() == 3);
  CHECK_FALSE(late.timer.active());
}

namespace {

// What `body` wrote to stderr (the daemon's log).
template <class Body>
std::string stderr_of(Body body) {
  std::fflush(stderr);
  FILE* capture = std::tmpfile();
  REQUIRE(capture != nullptr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(capture), STDERR_FILENO);
  body();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  std::rewind(capture);
  for (int c; (c = std::fgetc(capture)) != EOF;) out += static_cast<char>(c);
  std::fclose(capture);
  return out;
}

}  // namespace

TEST_CASE("an exception in a timer's callback stops at the loop boundary, is logged, and the rest still fire") {
  uv_loop_t* loop = uv_default_loop();
  bool after_fired = false;
  std::string logged;
  {
    TimerList list(loop);
    ListTimer thrower, after;
    list.start(
        thrower, 1, [](void*) { throw std::runtime_error("broken invariant"); }, nullptr);
    list.start(
        after, 20, [](void* fired) { *static_cast<bool*>(fired) = true; }, &after_fired);
    logged = stderr_of([&] { run_until_idle(loop); });
  }
  run_until_idle(loop);
  CHECK(after_fired);
  CHECK(logged.find("error: uncaught exception in a list timer's callback: broken invariant") != std::string::npos);
}
