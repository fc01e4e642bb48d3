// Whether a node should hold the site's service address: the loop watch
// (server/loop_watch.hpp) with heartbeats the test ticks, and the verdict
// (readiness/address_verdict.hpp) over every readiness state.
#include <doctest/doctest.h>

#include "readiness/address_verdict.hpp"
#include "server/loop_watch.hpp"

using namespace diresolver;

TEST_CASE("loop watch: a worker whose heartbeat stops is hung after hung_after_ms, and turns again") {
  uint64_t beats[2] = {0, 0};
  LoopWatch watch({[&] { return beats[0]; }, [&] { return beats[1]; }}, 1'000);
  CHECK_FALSE(watch.hung(1'000));
  for (int64_t t = 1'100; t <= 4'000; t += 100) {  // worker 1 stops at t = 1 s
    ++beats[0];
    watch.observe(t);
  }
  auto hung = watch.hung(4'000);
  REQUIRE(hung);
  CHECK(*hung == "worker 1's event loop has not turned for 3000 ms");
  CHECK_FALSE(watch.hung(1'000 + LoopWatch::hung_after_ms));  // the limit itself is still alive
  ++beats[1];
  watch.observe(4'100);
  CHECK_FALSE(watch.hung(4'100));
}

TEST_CASE("loop watch: a control loop that stops observing reads as hung") {
  uint64_t beat = 0;
  LoopWatch watch({[&] { return ++beat; }}, 0);
  watch.observe(100);
  CHECK_FALSE(watch.hung(100 + LoopWatch::hung_after_ms));
  auto hung = watch.hung(101 + LoopWatch::hung_after_ms);
  REQUIRE(hung);
  CHECK(hung->starts_with("the control loop has not turned"));
}

TEST_CASE("address verdict: give up when not ready or hung; hold when ready, and when only the DI side is down") {
  auto view = [](bool ready, bool degraded, std::string detail) {
    ReadinessView out;
    out.ready = ready;
    out.degraded = degraded;
    out.detail = std::move(detail);
    return out;
  };
  auto not_ready = view(false, false, "validating");
  auto ready = view(true, false, "2 of 2 regions validated");
  auto degraded = view(true, true, "amer: IAD 127.0.0.11:53 timeout");
  std::optional<std::string> loops_turn, hung = "worker 0's event loop has not turned for 2500 ms";

  CHECK(address_verdict(not_ready, loops_turn).line() == "give up: not ready: validating");
  CHECK(address_verdict(ready, loops_turn).line() == "hold: ready: 2 of 2 regions validated");
  CHECK(address_verdict(degraded, loops_turn).hold);
  CHECK(address_verdict(degraded, loops_turn).line().find("IAD 127.0.0.11:53 timeout") != std::string::npos);
  CHECK(address_verdict(ready, hung).line() == "give up: hung: worker 0's event loop has not turned for 2500 ms");
  CHECK_FALSE(address_verdict(degraded, hung).hold);
  CHECK_FALSE(address_verdict(not_ready, hung).hold);
}
