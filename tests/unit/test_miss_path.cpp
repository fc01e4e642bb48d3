// A cache miss's trip through the forwarder allocates nothing once the worker
// has warmed up: the transaction, its UDP attempts and their timers, the
// in-flight table entries and the client's callback are all reused. A real
// libuv loop and a real upstream socket on loopback (the suite runs inside
// its own network namespace). Also: a closed upstream port met mid-turn.
#include <arpa/inet.h>
#include <algorithm>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "allocation_count.hpp"
#include "loopback_socket.hpp"
#include "server/pending_clients.hpp"
#include "forward/forwarder.hpp"
// Last: ldns's headers define macros that break <optional> when included before it.
#include "packets.hpp"

using namespace diresolver;
using test::allocation_count;

namespace {

// Answers every query on 127.0.0.1 (kernel-chosen port) with the query itself,
// QR set: a NODATA answer to the very question asked. Allocates nothing.
class EchoUpstream {
 public:
  explicit EchoUpstream(uv_loop_t* loop) {
    REQUIRE(uv_poll_init(loop, &poll_, socket_.fd) == 0);
    poll_.data = this;
    uv_poll_start(&poll_, UV_READABLE, on_readable);
  }
  void close() { uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr); }
  const SockAddr& address() const { return socket_.address; }
  size_t answered = 0;

 private:
  static void on_readable(uv_poll_t* poll, int, int) {
    auto* self = static_cast<EchoUpstream*>(poll->data);
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    ssize_t n;
    while ((n = recvfrom(self->socket_.fd, self->buffer_, sizeof self->buffer_, 0,
                         reinterpret_cast<sockaddr*>(&from), &from_length)) >= 12) {
      self->buffer_[2] |= 0x80;  // QR
      sendto(self->socket_.fd, self->buffer_, size_t(n), 0, reinterpret_cast<sockaddr*>(&from), from_length);
      ++self->answered;
      from_length = sizeof from;
    }
  }
  test::LoopbackSocket socket_;
  uv_poll_t poll_{};
  uint8_t buffer_[1500];
};

Client udp_client(const char* address) {
  Client client;
  client.address = *SockAddr::parse(address, 53);
  return client;
}

ZoneSpec zone_served_by(const SockAddr& address) {
  return {"example.", RouteKind::forward, "", {{"echo", address}}, "example.", false};
}

}  // namespace

TEST_CASE("a cache miss allocates nothing in the forwarder once warm") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  EchoUpstream upstream(&loop);
  UpstreamRegistry registry;
  UpstreamSet set(zone_served_by(upstream.address()), Selection::lowest_rtt, {}, registry);
  WorkerCounters counters(UpstreamRegistry::max_servers);
  auto forwarder = std::make_unique<Forwarder>(&loop, UpstreamSettings{}, counters);
  auto query_wire = test::query_wire("host.example.", LDNS_RR_TYPE_A, 0x4242);
  auto query = dns::check_query(query_wire).query;
  Client client = udp_client("127.0.0.1:40000");
  // As the query handler does: the client waits in a slot, and the callback
  // carries one pointer and the slot, small enough for std::function to keep inline.
  struct Handler {
    PendingClients pending;
    size_t answered = 0;
  } handler;
  size_t& answered = handler.answered;
  auto round = [&](size_t queries) {
    size_t target = answered + queries;
    for (size_t i = 0; i < queries; ++i) {
      uint32_t slot = handler.pending.add(client, query);
      forwarder->forward(query_wire, query, set, [h = &handler, slot](ForwardOutcome&& outcome) {
        auto waiting = h->pending.take(slot);
        if (outcome.status == ForwardStatus::answered && waiting.query.id == 0x4242) ++h->answered;
      });
    }
    for (int turns = 0; answered < target && turns < 10000; ++turns) uv_run(&loop, UV_RUN_ONCE);
    uv_run(&loop, UV_RUN_NOWAIT);  // the turn's end: finished transactions become spares
  };

  for (int warm_up = 0; warm_up < 3; ++warm_up) round(48);
  REQUIRE(answered == 3 * 48);
  // 48 more; each pooled socket serves 256 queries before it is replaced, so
  // no socket rotation falls inside this window.
  size_t before = allocation_count();
  round(48);
  size_t during = allocation_count() - before;

  CHECK(answered == 4 * 48);
  CHECK(upstream.answered == 4 * 48);
  CHECK(forwarder->in_flight() == 0);
  CHECK(handler.pending.waiting() == 0);
  CHECK(during == 0);

  forwarder.reset();
  upstream.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("pending clients: slots are reused, and taking one gives back what was added") {
  PendingClients pending;
  auto first_wire = test::query_wire("a.example.", LDNS_RR_TYPE_A, 1);
  auto second_wire = test::query_wire("b.example.", LDNS_RR_TYPE_AAAA, 2);
  auto first = dns::check_query(first_wire).query;
  auto second = dns::check_query(second_wire).query;
  Client alice = udp_client("127.0.0.1:1111");
  Client bob = udp_client("127.0.0.1:2222");

  uint32_t a = pending.add(alice, first);
  uint32_t b = pending.add(bob, second);
  CHECK(a != b);
  CHECK(pending.waiting() == 2);
  auto got = pending.take(a);
  CHECK(got.client.address == alice.address);
  CHECK(got.query.name() == first.name());
  CHECK(pending.waiting() == 1);
  CHECK(pending.add(alice, second) == a);  // the freed slot, not a new one
  CHECK(pending.at(b).query.qtype == LDNS_RR_TYPE_AAAA);
  CHECK(pending.at(b).client.address == bob.address);
}

// A connected socket learns of a closed port from the ICMP error its first
// datagram draws, and the next send says ECONNREFUSED. When a turn's queries
// overflow a socket's batch, that refusal is met inside an attempt's own
// start(); the attempt must not be failed from in there (it was, and its
// orphaned timeout later called an empty callback), but at the turn's end
// with every other query waiting on the socket.
TEST_CASE("a closed upstream port fails every query once, even when a turn overflows a socket's batch") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  SockAddr closed_port = [] {
    test::LoopbackSocket gone;
    return gone.address;
  }();
  UpstreamRegistry registry;
  UpstreamSet set(zone_served_by(closed_port), Selection::lowest_rtt, {}, registry);
  WorkerCounters counters(UpstreamRegistry::max_servers);
  auto forwarder = std::make_unique<Forwarder>(&loop, UpstreamSettings{}, counters);
  auto query_wire = test::query_wire("host.example.", LDNS_RR_TYPE_A, 0x4242);
  auto query = dns::check_query(query_wire).query;

  // Four sockets per server, 32 queries per batch. A socket's first overflow
  // (query 129) writes 32; on loopback each datagram's ICMP error is reported
  // by the next one's send, which the partial sendmmsg count hides. The last
  // one's error is still pending at the second overflow (query 257), whose
  // sendmmsg then fails outright with ECONNREFUSED.
  constexpr size_t queries = 400;
  std::vector<int> calls(queries, 0);
  size_t answered = 0;
  for (size_t i = 0; i < queries; ++i)
    forwarder->forward(query_wire, query, set, [&calls, &answered, i](ForwardOutcome&& outcome) {
      ++calls[i];
      if (outcome.status == ForwardStatus::answered) ++answered;
    });
  auto all_called = [&] { return std::all_of(calls.begin(), calls.end(), [](int n) { return n > 0; }); };
  uint64_t give_up_ms = uv_now(&loop) + 5000;  // the deadline is 1.5 s
  while (!all_called() && uv_now(&loop) < give_up_ms) uv_run(&loop, UV_RUN_ONCE);
  // Past every attempt timeout: an attempt left armed without its transaction would fire now.
  uv_timer_t settle;
  uv_timer_init(&loop, &settle);
  uv_timer_start(&settle, [](uv_timer_t*) {}, 700, 0);
  uv_run(&loop, UV_RUN_ONCE);

  CHECK(all_called());
  CHECK(std::all_of(calls.begin(), calls.end(), [](int n) { return n == 1; }));
  CHECK(answered == 0);
  CHECK(forwarder->in_flight() == 0);
  CHECK(counters.upstream_network.get() > 0);

  uv_close(reinterpret_cast<uv_handle_t*>(&settle), nullptr);
  forwarder.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
