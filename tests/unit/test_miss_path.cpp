// The miss path: what a client gets when the cache could not answer, and
// what the cache keeps. Scripted exchanges and manual time drive the real
// Forwarder, MissPath and PacketCache (no sockets): relay and store, serve-
// stale's client timer, the stale / fallback / SERVFAIL choice after every
// server failed, and answers forwarded before a reload. Then, on a real loop
// and real loopback sockets: a warm miss allocates nothing, and a closed
// upstream port met mid-turn fails every query exactly once.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>

#include "allocation_count.hpp"
#include "loopback_socket.hpp"
#include "scripted_exchanges.hpp"
#include "server/miss_path.hpp"
#include "transport/kit.hpp"
#include "upstream/upstream_registry.hpp"
// Last: ldns's headers define macros that break <optional> when included before it.
#include "packets.hpp"

using namespace diresolver;
using test::allocation_count;

namespace {

const std::string qname = "host.example.";

ZoneSpec zone_served_by(std::vector<ServerSpec> servers) {
  return {"example.", RouteKind::forward, "", std::move(servers), "example.", false};
}

// What the client was sent, in a line: RCODE, the first address and its TTL, or the EDE.
std::string describe(dns::Bytes answer) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, answer.data(), answer.size()) != LDNS_STATUS_OK) return "unparsable";
  char* rcode = ldns_pkt_rcode2str(ldns_pkt_get_rcode(pkt));
  std::string out = rcode;
  free(rcode);
  if (ldns_pkt_ancount(pkt) > 0) {
    ldns_rr* rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), 0);
    char* address = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    out += std::string(" ") + address + " ttl " + std::to_string(ldns_rr_ttl(rr));
    free(address);
  }
  if (const ldns_rdf* edns = ldns_pkt_edns_data(pkt)) {
    const uint8_t* p = ldns_rdf_data(edns);
    for (size_t at = 0; at + 4 <= ldns_rdf_size(edns); at += 4 + dns::read_u16(p + at + 2))
      if (dns::read_u16(p + at) == 15) out += " EDE " + std::to_string(dns::read_u16(p + at + 4));
  }
  ldns_pkt_free(pkt);
  return out;
}

struct RecordingResponder final : Responder {
  explicit RecordingResponder(test::EventLog& l) : log(l) {}
  void send(const Client&, const dns::ParsedQuery& query, dns::Bytes answer) override {
    CHECK(dns::id_of(answer) == query.id);  // the client's own ID, whatever the upstream's was
    log.add("client: " + describe(answer));
  }
  test::EventLog& log;
};

CacheSettings cache_settings() {
  CacheSettings s;
  s.shards = 1;
  s.servfail_ttl = 5;
  return s;
}

// Forwarder and miss path on manual time; two scripted servers, A then B.
struct MissWorld {
  MissWorld() {
    set = std::make_shared<UpstreamSet>(
        zone_served_by({{"A", *SockAddr::parse("127.0.0.11", 53)}, {"B", *SockAddr::parse("127.0.0.12", 53)}}),
        Selection::sequential, HealthSettings{}, registry);
  }

  // A client's query (EDNS, so EDEs show) forwarded under config `generation`.
  void ask(bool stale_on_hand, uint64_t generation = 1) {
    log.start = time.now();
    misses.forward(query_wire, query(), set, generation, Client{}, stale_on_hand, time.now());
  }
  dns::ParsedQuery query() const { return dns::check_query(query_wire).query; }
  // Answers as the transport hands them on: without the upstream's OPT record.
  void answer(size_t attempt, uint32_t ttl) {
    exchanges.answer(
        attempt, test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                                  {qname + " " + std::to_string(ttl) + " IN A 192.0.2." + std::to_string(attempt + 1)}));
  }
  void fail_with(size_t attempt, ldns_pkt_rcode rcode) {
    exchanges.answer(attempt, test::reply_wire(qname, LDNS_RR_TYPE_A, rcode, {}));
  }
  std::string cached() {
    std::vector<uint8_t> out;
    auto q = query();
    auto found = cache.lookup(make_cache_key(q), query_wire, q, time.now().ms(), true, out);
    if (found.status == CacheStatus::miss) return "nothing";
    return (found.status == CacheStatus::stale ? "stale " : "fresh ") + describe(out);
  }
  // Stores an answer with `ttl` seconds and lets it expire: a stale answer on hand.
  void cache_expired_answer() {
    auto q = query();
    cache.store(make_cache_key(q),
                test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {qname + " 60 IN A 192.0.2.99"}),
                time.now().ms());
    time.advance_ms(61'000);
  }
  void advance_ms(uint64_t ms) { time.advance_ms(ms); }

  uv::ManualTime time;
  test::EventLog log{time, time.now(), {}};
  test::ScriptedExchanges exchanges{time, log};
  WorkerCounters counters{UpstreamRegistry::max_servers};
  Forwarder forwarder{uv::TimeSource::manual(time), UpstreamSettings{}, counters, exchanges};
  PacketCache cache{cache_settings()};
  RecordingResponder responder{log};
  MissPath misses{forwarder, &cache, responder, counters, uv::TimeSource::manual(time)};
  UpstreamRegistry registry;
  std::shared_ptr<UpstreamSet> set;
  std::vector<uint8_t> query_wire = test::query_wire(qname, LDNS_RR_TYPE_A, 0x4242, 1232);
};

}  // namespace

TEST_CASE("miss path: the first answer is stored, then relayed; the slot is free once the transaction ends") {
  MissWorld w;
  w.ask(false);
  w.advance_ms(50);  // A is slow: the hedge went to B at 42 ms
  w.answer(1, 300);
  CHECK(w.log.lines ==
        std::vector<std::string>{"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "50: client: NOERROR 192.0.2.2 ttl 300"});
  CHECK(w.cached() == "fresh NOERROR 192.0.2.2 ttl 300");
  CHECK(w.misses.open_slots() == 1);  // A's attempt still runs: its health learns from it
  w.advance_ms(500);
  CHECK(w.misses.open_slots() == 0);
  CHECK(w.counters.answered.get() == 1);
}

// Attempts and hedges slower than the stale timer (1000 ms).
UpstreamSettings patient() {
  UpstreamSettings s;
  s.attempt_timeout_min_ms = s.attempt_timeout_ms = 3000;
  s.hedge_delay_min_ms = s.hedge_delay_max_ms = 2000;
  s.deadline_ms = 5000;
  return s;
}

TEST_CASE("miss path: upstreams slower than stale_after_ms get the stale answer first, then refresh the cache") {
  MissWorld w;
  w.forwarder.set_settings(patient());
  w.cache_expired_answer();
  w.ask(true);
  w.advance_ms(1200);  // the stale timer (cache.stale_after_ms) went off at 1000
  w.answer(0, 300);
  CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 3000ms", "1000: client: NOERROR 192.0.2.99 ttl 30 EDE 3"});
  CHECK(w.cached() == "fresh NOERROR 192.0.2.1 ttl 300");
  CHECK(w.misses.open_slots() == 0);
}

TEST_CASE("miss path: once the client has its stale answer, a failure asks no other server") {
  MissWorld w;
  w.forwarder.set_settings(patient());
  w.cache_expired_answer();
  w.ask(true);
  w.advance_ms(1100);
  w.fail_with(0, LDNS_RCODE_SERVFAIL);
  w.advance_ms(5000);
  // Without the stale answer, B would be asked at 1100 ms; the client would get one answer either way.
  CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 3000ms", "1000: client: NOERROR 192.0.2.99 ttl 30 EDE 3"});
  CHECK(w.cached() == "stale NOERROR 192.0.2.99 ttl 30");
  CHECK(w.misses.open_slots() == 0);
}

TEST_CASE("miss path: after every server failed, stale beats the upstream's SERVFAIL, which beats our own") {
  SUBCASE("a stale answer on hand") {
    MissWorld w;
    w.cache_expired_answer();
    w.ask(true);
    w.fail_with(0, LDNS_RCODE_SERVFAIL);
    w.fail_with(1, LDNS_RCODE_SERVFAIL);
    CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 200ms", "0: #1 B/udp 200ms",
                                                  "0: client: NOERROR 192.0.2.99 ttl 30 EDE 3"});
    CHECK(w.cached() == "stale NOERROR 192.0.2.99 ttl 30");  // the SERVFAIL did not replace it
  }
  SUBCASE("no stale answer: the last upstream SERVFAIL/REFUSED is relayed, and a SERVFAIL kept servfail_ttl") {
    MissWorld w;
    w.ask(false);
    w.fail_with(0, LDNS_RCODE_REFUSED);
    w.fail_with(1, LDNS_RCODE_SERVFAIL);
    CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 200ms", "0: #1 B/udp 200ms", "0: client: SERVFAIL"});
    CHECK(w.cached() == "fresh SERVFAIL");
  }
  SUBCASE("nobody answered: SERVFAIL with EDE 22") {
    MissWorld w;
    w.ask(false);
    w.advance_ms(700);  // each server asked twice (upstream.tries), the second wait doubled
    CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "200: #0 timeout",
                                                  "200: #2 A/udp 400ms", "242: #1 timeout", "242: #3 B/udp 400ms",
                                                  "600: #2 timeout", "642: #3 timeout", "642: client: SERVFAIL EDE 22"});
    CHECK(w.counters.servfail.get() == 1);
    CHECK(w.cached() == "nothing");
  }
  SUBCASE("the network said no: SERVFAIL with EDE 23") {
    MissWorld w;
    w.exchanges.unreachable = {"A", "B"};
    w.ask(false);
    CHECK(w.log.lines ==
          std::vector<std::string>{"0: A/udp fails at once", "0: B/udp fails at once", "0: client: SERVFAIL EDE 23"});
  }
}

TEST_CASE("miss path: an answer to a query forwarded before a reload is relayed but not stored") {
  MissWorld w;
  w.ask(false, 1);
  w.cache.refuse_before(2);  // the reload: its flush must not be refilled by the old config's answers
  w.answer(0, 300);
  CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 200ms", "0: client: NOERROR 192.0.2.1 ttl 300"});
  CHECK(w.cached() == "nothing");
  w.advance_ms(1000);
  w.ask(false, 2);
  w.answer(1, 300);
  CHECK(w.cached() == "fresh NOERROR 192.0.2.2 ttl 300");
}

TEST_CASE("miss path: a refresh stores the answer and answers nobody") {
  MissWorld w;
  w.log.start = w.time.now();
  w.misses.refresh(w.query_wire, w.query(), w.set, 1, w.time.now());
  w.answer(0, 300);
  CHECK(w.log.lines == std::vector<std::string>{"0: #0 A/udp 200ms"});
  CHECK(w.cached() == "fresh NOERROR 192.0.2.1 ttl 300");
  CHECK(w.counters.cache_prefetches.get() == 1);
}

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
    while ((n = recvfrom(self->socket_.fd, self->buffer_, sizeof self->buffer_, 0, reinterpret_cast<sockaddr*>(&from),
                         &from_length)) >= 12) {
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

struct CountingResponder final : Responder {
  void send(const Client&, const dns::ParsedQuery& query, dns::Bytes answer) override {
    if (dns::id_of(answer) == query.id && dns::rcode_of(answer) == dns::Rcode::noerror) ++answered;
  }
  size_t answered = 0;
};

// A real worker's miss path: transport kit, forwarder and miss path on one loop.
struct LoopWorld {
  explicit LoopWorld(uv_loop_t* loop, const SockAddr& upstream)
      : transport(loop, UpstreamSettings{}, counters),
        forwarder(uv::TimeSource::of_loop(loop), UpstreamSettings{}, counters, transport),
        misses(forwarder, nullptr, responder, counters, uv::TimeSource::of_loop(loop)),
        set(std::make_shared<UpstreamSet>(zone_served_by({{"echo", upstream}}), Selection::lowest_rtt, HealthSettings{},
                                          registry)) {}
  void close() {
    forwarder.cancel_all();
    misses.close();
    transport.close();
  }

  WorkerCounters counters{UpstreamRegistry::max_servers};
  TransportKit transport;
  Forwarder forwarder;
  CountingResponder responder;
  MissPath misses;
  UpstreamRegistry registry;
  SetPtr set;
};

}  // namespace

TEST_CASE("a cache miss allocates nothing in the transport, forwarder and miss path once warm") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  EchoUpstream upstream(&loop);
  auto world = std::make_unique<LoopWorld>(&loop, upstream.address());
  auto query_wire = test::query_wire("host.example.", LDNS_RR_TYPE_A, 0x4242);
  auto query = dns::check_query(query_wire).query;
  auto& answered = world->responder.answered;
  auto round = [&](size_t queries) {
    size_t target = answered + queries;
    for (size_t i = 0; i < queries; ++i)
      world->misses.forward(query_wire, query, world->set, 1, Client{}, false, Instant::now());
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
  CHECK(world->forwarder.in_flight() == 0);
  CHECK(world->misses.open_slots() == 0);
  CHECK(during == 0);

  world->close();
  world.reset();
  upstream.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}

namespace {

struct DoneCounter final : ForwardListener {
  explicit DoneCounter(size_t queries) : calls(queries, 0) {}
  void on_answer(uint32_t, std::span<uint8_t>, Instant) override { ++answered; }
  void on_done(uint32_t tag, ForwardOutcome&&) override { ++calls[tag]; }
  bool all_done() const {
    return std::all_of(calls.begin(), calls.end(), [](int n) { return n > 0; });
  }
  std::vector<int> calls;
  size_t answered = 0;
};

}  // namespace

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
  auto world = std::make_unique<LoopWorld>(&loop, closed_port);
  auto query_wire = test::query_wire("host.example.", LDNS_RR_TYPE_A, 0x4242);
  auto query = dns::check_query(query_wire).query;

  // Four sockets per server, 32 queries per batch. A socket's first overflow
  // (query 129) writes 32; on loopback each datagram's ICMP error is reported
  // by the next one's send, which the partial sendmmsg count hides. The last
  // one's error is still pending at the second overflow (query 257), whose
  // sendmmsg then fails outright with ECONNREFUSED.
  constexpr size_t queries = 400;
  DoneCounter listener(queries);
  for (uint32_t i = 0; i < queries; ++i)
    world->forwarder.forward(query_wire, query, world->set, listener, i, Instant::now());
  uint64_t give_up_ms = uv_now(&loop) + 5000;  // the deadline is 1.5 s
  while (!listener.all_done() && uv_now(&loop) < give_up_ms) uv_run(&loop, UV_RUN_ONCE);
  // Past every attempt timeout: an attempt left armed without its transaction would fire now.
  uv_timer_t settle;
  uv_timer_init(&loop, &settle);
  uv_timer_start(
      &settle, [](uv_timer_t*) {}, 700, 0);
  uv_run(&loop, UV_RUN_ONCE);

  CHECK(listener.all_done());
  CHECK(std::all_of(listener.calls.begin(), listener.calls.end(), [](int n) { return n == 1; }));
  CHECK(listener.answered == 0);
  CHECK(world->forwarder.in_flight() == 0);
  CHECK(world->counters.servers[world->set->server(0).id()].failures[index_of(UpstreamError::network)].get() > 0);

  uv_close(reinterpret_cast<uv_handle_t*>(&settle), nullptr);
  world->close();
  world.reset();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
