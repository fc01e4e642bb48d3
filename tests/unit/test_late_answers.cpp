// Packets on a pooled upstream socket that no attempt waits for: an answer to
// an attempt that has ended (a slow or recovering server) is a late answer of
// that server, not an ignored packet (which says: spoofed or garbage).
#include <doctest/doctest.h>

#include <optional>

#include "loop_fixture.hpp"

using namespace diresolver;
using test::LoopFixture;

namespace {

void run_until(LoopFixture& f, const bool& done) {
  uint64_t give_up = uv_now(&f.loop) + 2000;
  while (!done && uv_now(&f.loop) < give_up) uv_run(&f.loop, UV_RUN_ONCE);
}

void run_briefly(LoopFixture& f) {
  for (int i = 0; i < 20; ++i) uv_run(&f.loop, UV_RUN_NOWAIT);
}

}  // namespace

TEST_CASE("an answer after its attempt timed out is counted late; a packet with a new ID is ignored") {
  LoopFixture f;
  auto exchange = f.kit->make(Transport::udp);
  std::optional<ExchangeResult> result;
  bool done = false;
  REQUIRE_FALSE(exchange->start(f.request(20), [&](ExchangeResult&& r) {
    result.emplace(r);
    done = true;
  }));
  run_briefly(f);  // the query goes out
  auto query = test::receive_query(f.server.fd);
  run_until(f, done);
  REQUIRE(result);
  CHECK(result->error() == UpstreamError::timeout);

  auto& server = f.counters.servers[f.upstream.id()];
  test::answer(f.server.fd, query);  // the server wakes up
  auto stranger = query;
  stranger.packet[0] ^= 0x5a;  // an ID nobody asked with
  test::answer(f.server.fd, stranger);
  uint64_t give_up = uv_now(&f.loop) + 1000;
  while (server.late_answers.get() + f.counters.upstream_mismatched.get() < 2 && uv_now(&f.loop) < give_up)
    uv_run(&f.loop, UV_RUN_ONCE);
  CHECK(server.late_answers.get() == 1);
  CHECK(f.counters.upstream_mismatched.get() == 1);
}
