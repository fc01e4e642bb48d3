// Writing a loop turn's datagrams together: DatagramBatch over real loopback
// sockets, and EndOfTurn on a real libuv loop.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <string>
#include <vector>

#include "loopback_socket.hpp"
#include "net/datagram_batch.hpp"
#include "uv/end_of_turn.hpp"

using namespace diresolver;
using test::LoopbackSocket;

namespace {

dns::Bytes bytes(const std::string& text) { return {reinterpret_cast<const uint8_t*>(text.data()), text.size()}; }

}  // namespace

TEST_CASE("a batch writes each datagram, whole and in order, to its own address") {
  LoopbackSocket sender, first, second;
  DatagramBatch batch;
  CHECK(batch.empty());
  REQUIRE(batch.add(bytes("one"), &first.address));
  REQUIRE(batch.add(bytes("two"), &second.address));
  REQUIRE(batch.add(bytes("three"), &first.address));
  auto outcome = batch.flush(sender.fd);
  CHECK(outcome.sent == 3);
  CHECK(outcome.failed == 0);
  CHECK(batch.empty());
  CHECK(first.drain() == std::vector<std::string>{"one", "three"});
  CHECK(second.drain() == std::vector<std::string>{"two"});
  CHECK(batch.flush(sender.fd).sent == 0);  // forgotten once written
}

TEST_CASE("a batch refuses what does not fit instead of growing") {
  LoopbackSocket sender, peer;
  DatagramBatch batch;
  std::string huge(DatagramBatch::byte_capacity + 1, 'x');
  CHECK_FALSE(batch.add(bytes(huge), &peer.address));
  for (size_t i = 0; i < DatagramBatch::max_messages; ++i) REQUIRE(batch.add(bytes("q"), &peer.address));
  CHECK(batch.full());
  CHECK_FALSE(batch.add(bytes("one too many"), &peer.address));
  CHECK(batch.flush(sender.fd).sent == DatagramBatch::max_messages);
  CHECK(peer.drain().size() == DatagramBatch::max_messages);
}

TEST_CASE("on a connected socket a closed peer port reads as refused, and nothing else is lost") {
  LoopbackSocket sender;
  SockAddr closed;
  {
    LoopbackSocket gone;
    closed = gone.address;
  }  // its port is now closed: the kernel answers with ICMP port unreachable
  REQUIRE(connect(sender.fd, closed.get(), closed.length()) == 0);
  DatagramBatch batch;
  REQUIRE(batch.add(bytes("first")));
  CHECK(batch.flush(sender.fd).sent == 1);  // the ICMP error comes back after this one
  REQUIRE(batch.add(bytes("second")));
  REQUIRE(batch.add(bytes("third")));
  auto outcome = batch.flush(sender.fd);
  CHECK(outcome.refused);
  CHECK(outcome.failed == 1);
  CHECK(outcome.sent == 1);  // the datagram after the refused one still went out
}

TEST_CASE("end-of-turn work armed in a timer callback runs in that turn, once") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  struct State {
    int runs = 0;
    uv::EndOfTurn* end = nullptr;
  } state;
  {
    uv::EndOfTurn end(
        &loop, [](void* s) { ++static_cast<State*>(s)->runs; }, &state);
    state.end = &end;
    uv_timer_t soon, late;
    uv_timer_init(&loop, &soon);
    uv_timer_init(&loop, &late);
    soon.data = &state;
    uv_timer_start(
        &soon,
        [](uv_timer_t* t) {
          auto* s = static_cast<State*>(t->data);
          CHECK(s->end->arm());
          CHECK(s->end->arm());  // armed twice, runs once
        },
        0, 0);
    // Without the idle handle the turn's poll would sleep until this one.
    uv_timer_start(
        &late, [](uv_timer_t*) {}, 5000, 0);
    auto begin = std::chrono::steady_clock::now();
    uv_run(&loop, UV_RUN_ONCE);
    CHECK(state.runs == 1);
    CHECK(std::chrono::steady_clock::now() - begin < std::chrono::seconds(1));
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(state.runs == 1);  // not again without being armed again
    end.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&soon), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&late), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  CHECK(uv_loop_close(&loop) == 0);
}
