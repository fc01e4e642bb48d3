// What a reload flushes and what it says needs a restart.
#include <doctest/doctest.h>

#include "config/config_diff.hpp"
#include "server/runtime.hpp"

using namespace diresolver;

namespace {

ZoneSpec zone(const char* name, std::vector<const char*> addresses) {
  ZoneSpec z{name, RouteKind::forward, "", {}, name, false};
  for (auto* a : addresses) z.servers.push_back({a, *SockAddr::parse(a, 53)});
  return z;
}

}  // namespace

TEST_CASE("zones whose servers changed, appeared or vanished are flushed") {
  Config before, after;
  before.zones = {zone("a.example.", {"127.0.0.1"}), zone("b.example.", {"127.0.0.2"}),
                  zone("gone.example.", {"127.0.0.3"})};
  after.zones = {zone("a.example.", {"127.0.0.1"}), zone("b.example.", {"127.0.0.2", "127.0.0.4"}),
                 zone("new.example.", {"127.0.0.5"})};
  CHECK(zones_to_flush(before, after) == std::vector<std::string>{"b.example.", "new.example.", "gone.example."});
  CHECK(zones_to_flush(before, before).empty());
}

TEST_CASE(
    "listen addresses, workers, cache sizing, the gate's on/off, the upstream TCP idle time and the admin address need "
    "a restart") {
  Config before, after;
  before.server.listen = {*SockAddr::parse("127.0.0.1", 53)};
  after = before;
  CHECK(restart_only_changes(before, after).empty());
  after.server.listen = {*SockAddr::parse("127.0.0.1", 5300)};
  after.server.workers = 4;
  after.cache.max_entries = 10;
  after.admin.listen = SockAddr::parse("127.0.0.1", 9000);
  after.readiness.enabled = !before.readiness.enabled;
  after.upstream.tcp_idle_timeout_ms = before.upstream.tcp_idle_timeout_ms + 1;
  CHECK(restart_only_changes(before, after) ==
        std::vector<std::string>{"server.listen", "server.workers", "cache", "readiness.enabled",
                                 "upstream.tcp_idle_timeout_ms", "admin.listen"});
}

TEST_CASE("a query's upstream set keeps its runtime alive after a reload replaced it") {
  UpstreamRegistry registry;
  Config config;
  config.zones = {zone("a.example.", {"127.0.0.1"})};
  RuntimePtr runtime = std::make_shared<const Runtime>(config, registry);
  std::weak_ptr<const Runtime> watched = runtime;
  SetPtr set = set_in(runtime, 0);  // what a transaction holds
  runtime.reset();                  // the reload: workers let go of the old runtime
  REQUIRE_FALSE(watched.expired());
  CHECK(set->zone() == "a.example.");
  CHECK(set->server(0).address() == *SockAddr::parse("127.0.0.1", 53));
  set.reset();  // the transaction ends
  CHECK(watched.expired());
}
