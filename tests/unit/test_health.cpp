// Health is a pure state machine: fed sequences, no sockets, no clock.
#include <doctest/doctest.h>

#include "upstream/health_state.hpp"
#include "upstream/rtt_estimator.hpp"
#include "upstream/upstream_set.hpp"

using namespace diresolver;

TEST_CASE("up -> down after `fall` consecutive failures, down -> up after `rise` successes") {
  HealthState health({.fall = 3, .rise = 2});
  CHECK(health.up());
  CHECK(health.record_failure(UpstreamError::timeout) == HealthTransition::none);
  CHECK(health.record_failure(UpstreamError::timeout) == HealthTransition::none);  // two: still up
  CHECK(health.up());
  CHECK(health.record_failure(UpstreamError::servfail) == HealthTransition::went_down);  // the third
  CHECK_FALSE(health.up());
  CHECK(health.last_failure() == UpstreamError::servfail);
  CHECK(health.record_failure(UpstreamError::timeout) == HealthTransition::none);  // already down
  CHECK(health.record_success() == HealthTransition::none);
  CHECK_FALSE(health.up());
  CHECK(health.record_success() == HealthTransition::went_up);
  CHECK(health.up());
}

TEST_CASE("a success in between resets the failure count, and a failure resets the rise count") {
  HealthState health({.fall = 2, .rise = 2});
  health.record_failure(UpstreamError::network);
  health.record_success();
  CHECK(health.record_failure(UpstreamError::network) == HealthTransition::none);
  CHECK(health.consecutive_failures() == 1);
  CHECK(health.record_failure(UpstreamError::refused) == HealthTransition::went_down);
  health.record_success();
  CHECK(health.record_failure(UpstreamError::malformed) == HealthTransition::none);
  CHECK(health.record_success() == HealthTransition::none);
  CHECK(health.record_success() == HealthTransition::went_up);
}

TEST_CASE("fall = 1 and rise = 1 react to a single result") {
  HealthState health({.fall = 1, .rise = 1});
  CHECK(health.record_failure(UpstreamError::mismatched) == HealthTransition::went_down);
  CHECK(health.record_success() == HealthTransition::went_up);
}

TEST_CASE("SRTT: first sample taken as is, then smoothed by 1/8, and decays when idle") {
  RttEstimator rtt;
  CHECK(rtt.srtt_us(0) == RttEstimator::initial_us);
  rtt.add_sample(1000, 100);
  CHECK(rtt.srtt_us(100) == 1000);
  rtt.add_sample(9000, 200);
  CHECK(rtt.srtt_us(200) == 2000);  // 1000 + (9000 - 1000) / 8
  CHECK(rtt.srtt_us(200 + RttEstimator::decay_ms) == 2000);
  CHECK(rtt.srtt_us(200 + 2 * RttEstimator::decay_ms) == 500);  // two halvings
  CHECK(rtt.srtt_us(200 + 100 * RttEstimator::decay_ms) == 0);
}

TEST_CASE("SRTT: a timeout raises it by 1/8 of the gap, never lowers it, and the next answer replaces it") {
  RttEstimator rtt;
  rtt.add_lower_bound(180'000, 0);
  CHECK(rtt.srtt_us(0) == 20'000 + 160'000 / 8);
  rtt.add_lower_bound(1'000, 0);  // waited less than the estimate: says nothing
  CHECK(rtt.srtt_us(0) == 40'000);
  rtt.add_sample(3'000, 10);
  CHECK(rtt.srtt_us(10) == 3'000);
  for (int i = 0; i < 16; ++i) rtt.add_lower_bound(200'000, 20);  // a server whose answers all come too late
  CHECK(rtt.srtt_us(20) > 3'000 + 100'000);                       // falls behind a partner answering in 3 ms
  rtt.add_sample(2'000, 30);                                       // back: its first answer counts whole
  CHECK(rtt.srtt_us(30) == 2'000);
  rtt.add_sample(10'000, 40);
  CHECK(rtt.srtt_us(40) == 3'000);  // and then smoothed again
}

namespace {

ZoneSpec pair() {
  return {"acme.amer.wxc-di.webex.com.",
          RouteKind::di,
          "amer",
          {{"IAD", *SockAddr::parse("127.0.0.11", 53)},
           {"DFW", *SockAddr::parse("127.0.0.12", 53)},
           {"THIRD", *SockAddr::parse("127.0.0.13", 53)}},
          "acme.amer.wxc-di.webex.com.",
          false};
}

std::vector<size_t> order(const UpstreamSet& set, int64_t now, uint32_t rotation = 0) {
  auto o = set.order_for_query(now, rotation);
  return std::vector<size_t>(o.begin(), o.end());
}

}  // namespace

TEST_CASE("selection: lowest SRTT first among healthy servers, down servers last") {
  UpstreamRegistry registry;
  UpstreamSet set(pair(), Selection::lowest_rtt, {.fall = 1, .rise = 1}, registry);
  CHECK(set.server(0).id() != set.server(1).id());
  CHECK(order(set, 1000) == std::vector<size_t>{0, 1, 2});  // no samples: config order
  set.server(0).report_success(ResultSource::probe, 30'000, 1000);
  set.server(1).report_success(ResultSource::probe, 5'000, 1000);
  set.server(2).report_success(ResultSource::probe, 10'000, 1000);
  CHECK(order(set, 1000) == std::vector<size_t>{1, 2, 0});
  set.server(1).report_failure(ResultSource::probe, UpstreamError::timeout, 1000);  // fall = 1: down
  CHECK(order(set, 1000) == std::vector<size_t>{2, 0, 1});
  set.server(2).report_failure(ResultSource::traffic, UpstreamError::timeout, 1000);
  set.server(0).report_failure(ResultSource::traffic, UpstreamError::timeout, 1000);
  CHECK(order(set, 1000) == std::vector<size_t>{0, 1, 2});  // all down: still every server, in order
}

TEST_CASE("selection: sequential keeps config order, round robin rotates") {
  UpstreamRegistry registry;
  UpstreamSet sequential(pair(), Selection::sequential, {}, registry);
  sequential.server(0).report_success(ResultSource::probe, 90'000, 0);
  CHECK(order(sequential, 0, 7) == std::vector<size_t>{0, 1, 2});
  UpstreamRegistry other;
  UpstreamSet round_robin(pair(), Selection::round_robin, {}, other);
  CHECK(order(round_robin, 0, 0) == std::vector<size_t>{0, 1, 2});
  CHECK(order(round_robin, 0, 1) == std::vector<size_t>{1, 2, 0});
  CHECK(order(round_robin, 0, 5) == std::vector<size_t>{2, 0, 1});
}

TEST_CASE("selection: sequential and round robin put a far slower server after the others") {
  UpstreamRegistry registry;
  UpstreamSet sequential(pair(), Selection::sequential, {}, registry);
  for (size_t i = 0; i < 3; ++i) sequential.server(i).report_success(ResultSource::probe, 1'000, 0);
  for (int k = 0; k < 40; ++k) sequential.server(0).report_success(ResultSource::traffic, 300'000, 0);  // congested
  CHECK(order(sequential, 0) == std::vector<size_t>{1, 2, 0});
  UpstreamRegistry other;
  UpstreamSet round_robin(pair(), Selection::round_robin, {}, other);
  for (size_t i = 0; i < 3; ++i) round_robin.server(i).report_success(ResultSource::probe, 1'000, 0);
  for (int k = 0; k < 40; ++k) round_robin.server(1).report_success(ResultSource::traffic, 300'000, 0);
  CHECK(order(round_robin, 0, 0) == std::vector<size_t>{0, 2, 1});
  CHECK(order(round_robin, 0, 1) == std::vector<size_t>{2, 0, 1});
}

TEST_CASE("the registry keeps a server across reloads and recycles ids nobody holds") {
  UpstreamRegistry registry;
  auto address = *SockAddr::parse("127.0.0.11", 53);
  auto first = registry.obtain("IAD", address, "a.example.", {});
  first->report_failure(ResultSource::probe, UpstreamError::timeout, 0);
  auto again = registry.obtain("IAD", address, "a.example.", {.fall = 5, .rise = 1});
  CHECK(again == first);  // same health, RTT and counters after a reload
  CHECK(again->snapshot().consecutive_failures == 1);
  auto other_zone = registry.obtain("IAD", address, "b.example.", {});
  CHECK(other_zone != first);
  CHECK(other_zone->id() != first->id());
  auto freed = other_zone->id();
  other_zone.reset();
  auto next = registry.obtain("X", *SockAddr::parse("127.0.0.99", 53), "c.example.", {});
  CHECK(next->id() == freed);
}

TEST_CASE("a zone keeps its route counter slot for the life of the process") {
  UpstreamRegistry registry;
  auto amer = registry.zone_slot("acme.amer.wxc-di.webex.com.");
  auto corp = registry.zone_slot("corp.example.");
  CHECK(amer != corp);
  CHECK(registry.zone_slot("acme.amer.wxc-di.webex.com.") == amer);  // a reload: same slot
  for (unsigned i = 2; i < UpstreamRegistry::max_zones; ++i) registry.zone_slot("z" + std::to_string(i) + ".");
  CHECK_THROWS_WITH_AS(registry.zone_slot("one-too-many."), "more than 256 zones configured since start; restart",
                       std::runtime_error);
  CHECK(registry.zone_slot("corp.example.") == corp);  // known zones still resolve when full
}
