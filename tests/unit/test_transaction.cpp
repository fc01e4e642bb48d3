// The forwarding state machine, table-driven: one transaction over a set of
// two servers (A, then B: equal RTTs keep the configured order), with
// scripted exchanges and manual time, so every hedge, timeout and deadline
// falls at a known millisecond. No sockets, no wall clock.
//
// Each row is a script (at T ms, attempt #n answers / fails / ...) and what
// must follow: the log of attempts sent (server/transport, timeout), their
// ends, what the listener heard and when; then the counters and each server's
// recorded failures and smoothed RTT. With the default settings an attempt
// times out after 200 ms and the hedge waits 42 ms (2 x the 20 ms initial
// SRTT + 2); the client deadline is 1500 ms.
#include <doctest/doctest.h>

#include <array>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "forward/transaction.hpp"
#include "scripted_exchanges.hpp"
#include "upstream/upstream_registry.hpp"
// Last: ldns's headers define macros that break <optional> when included before it.
#include "packets.hpp"

using namespace diresolver;

namespace {

enum class Act { answer, truncated, servfail, refused, formerr, network, reload, client_answered };
enum class Timing { defaults, slow_hedges, long_attempts };

struct Step {
  uint64_t at_ms;
  Act act;
  size_t attempt = 0;
};

struct Row {
  const char* name;
  Timing timing;
  std::vector<Step> script;
  std::vector<std::string> log;
  std::string counts;
  std::set<std::string> unreachable = {};
  unsigned fall = 3;  // the servers' health: failures in a row that mark one down
};

const std::string qname = "host.example.";

UpstreamSettings settings_for(Timing timing) {
  UpstreamSettings s;
  if (timing == Timing::slow_hedges) s.hedge_delay_min_ms = s.hedge_delay_max_ms = 1000;
  if (timing == Timing::long_attempts) s.attempt_timeout_min_ms = s.attempt_timeout_ms = 3000;
  return s;
}

std::vector<uint8_t> answer_for(Act act) {
  switch (act) {
    case Act::servfail: return test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, {});
    case Act::refused: return test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, {});
    case Act::formerr: return test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_FORMERR, {});
    default: break;
  }
  auto answer = test::reply_wire(qname, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {qname + " 300 IN A 192.0.2.1"});
  if (act == Act::truncated) answer[2] |= 0x02;  // TC
  return answer;
}

std::string rcode_name(dns::Rcode rcode) {
  static const std::map<dns::Rcode, std::string> names = {
      {dns::Rcode::servfail, "SERVFAIL"}, {dns::Rcode::refused, "REFUSED"}, {dns::Rcode::formerr, "FORMERR"}};
  return names.count(rcode) ? names.at(rcode) : "other";
}

struct LoggingListener final : ForwardListener {
  LoggingListener(test::EventLog& l, std::function<void()> done) : log(l), also_on_done(std::move(done)) {}
  void on_answer(uint32_t, std::span<uint8_t> answer, Instant) override {
    log.add("answer #" + std::to_string(dns::id_of(answer) - 100));
  }
  void on_done(uint32_t, ForwardOutcome&& outcome) override {
    std::string line = "done: answered";
    if (outcome.status == ForwardStatus::failed)
      line = "done: failed, last " + std::string(name_of(outcome.last_error));
    if (!outcome.fallback.empty()) line += ", fallback " + rcode_name(dns::rcode_of(outcome.fallback));
    log.add(line);
    also_on_done();
  }
  test::EventLog& log;
  std::function<void()> also_on_done;
};

// One row's world: the servers' set (held like a runtime), the transaction and its seams.
struct World {
  explicit World(const Row& row)
      : context{settings_for(row.timing), counters, clock, exchanges},
        runtime(std::make_shared<UpstreamSet>(
            ZoneSpec{"example.", RouteKind::forward, "", {{"A", a}, {"B", b}}, "example.", false},
            Selection::lowest_rtt, HealthSettings{row.fall, 2}, registry)) {
    exchanges.unreachable = row.unreachable;
    servers = {&runtime->server(0), &runtime->server(1)};
  }

  std::string counts() const {
    auto server = [&](const Upstream& s) {
      const auto& c = counters.servers[s.id()];
      std::string failures;
      for (auto e : all_of<UpstreamError>())
        for (uint64_t i = 0; i < c.failures[index_of(e)].get(); ++i)
          failures += (failures.empty() ? "" : " ") + std::string(name_of(e));
      auto health = s.snapshot();
      return s.name() + ": " + (failures.empty() ? "-" : failures) + ", srtt " +
             std::to_string(s.srtt_us(time.now().ms()) / 1000) + ", health " +
             (health.up ? std::to_string(health.consecutive_failures) : "down");
    };
    uint64_t udp = 0, tcp = 0, answers = 0, hedges = 0, won = 0, failover = 0, late = 0, retries = 0;
    for (const auto* s : servers) {
      const auto& c = counters.servers[s->id()];
      udp += c.queries_udp.get();
      tcp += c.queries_tcp.get();
      answers += c.answers.get();
      hedges += c.hedges_sent.get();
      won += c.hedges_won.get();
      failover += c.failover_answers.get();
      late += c.late_answers.get();
      retries += c.retries.get();
    }
    return "sent " + std::to_string(udp) + "/" + std::to_string(tcp) + ", answers " + std::to_string(answers) +
           ", hedges " + std::to_string(hedges) + ", won " + std::to_string(won) + ", failover " +
           std::to_string(failover) + ", late " + std::to_string(late) + ", retries " + std::to_string(retries) +
           ", tcp retries " + std::to_string(counters.tcp_retries.get()) + "; " + server(*servers[0]) + "; " +
           server(*servers[1]);
  }

  SockAddr a = *SockAddr::parse("127.0.0.11", 53);
  SockAddr b = *SockAddr::parse("127.0.0.12", 53);
  uv::ManualTime time;
  test::EventLog log{time, time.now(), {}};
  test::ScriptedExchanges exchanges{time, log};
  WorkerCounters counters{UpstreamRegistry::max_servers};
  ForwardClock clock{uv::TimeSource::manual(time)};
  ForwardContext context;
  UpstreamRegistry registry;
  std::shared_ptr<UpstreamSet> runtime;      // what a reload replaces: the test may let go of it
  std::array<const Upstream*, 2> servers{};  // alive while a transaction holds the set
  std::string counts_at_done;                // read when the listener hears the end: SRTTs decay afterwards
  LoggingListener listener{log, [this] { counts_at_done = counts(); }};
  Transaction transaction{context, [this](Transaction*) { log.add("ended"); }};
};

void play(World& w, const Row& row) {
  auto wire = test::query_wire(qname, LDNS_RR_TYPE_A, 0x4242);
  auto query = dns::check_query(wire).query;
  auto start = w.time.now();
  size_t first = w.exchanges.attempts.size();  // a script numbers its attempts from 0
  SetPtr set = w.runtime;
  w.transaction.start(wire, query, set, set->order_for_query(start.ms(), 0), w.listener, 7, start);
  set.reset();
  for (const auto& step : row.script) {
    w.time.advance_to({start.ns + step.at_ms * 1'000'000});
    switch (step.act) {
      case Act::network: w.exchanges.fail(first + step.attempt, UpstreamError::network); break;
      case Act::reload:
        w.log.add("reload");
        w.runtime.reset();
        break;
      case Act::client_answered:
        w.log.add("client answered elsewhere");
        w.transaction.client_answered();
        break;
      default: w.exchanges.answer(first + step.attempt, answer_for(step.act)); break;
    }
  }
  w.time.advance_ms(5000);  // past every timeout and the deadline
}

const std::vector<Row> rows = {
    {"the first server answers",
     Timing::defaults,
     {{3, Act::answer, 0}},
     {"0: #0 A/udp 200ms", "3: answer #0", "3: done: answered", "3: ended"},
     "sent 1/0, answers 1, hedges 0, won 0, failover 0, late 0, retries 0, tcp retries 0; A: -, srtt 3, health 0; B: "
     "-, srtt 20, health 0"},
    {"a hedge wins; the first server's timeout ends the transaction",
     Timing::defaults,
     {{50, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "50: answer #1", "200: #0 timeout", "200: done: answered",
      "200: ended"},
     "sent 2/0, answers 1, hedges 1, won 1, failover 0, late 0, retries 0, tcp retries 0; A: timeout, srtt 42, health "
     "1; B: -, srtt 8, health 0"},
    {"a late answer after delivery is counted, not delivered",
     Timing::defaults,
     {{50, Act::answer, 1}, {60, Act::answer, 0}},
     {"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "50: answer #1", "60: done: answered", "60: ended"},
     "sent 2/0, answers 2, hedges 1, won 1, failover 0, late 1, retries 0, tcp retries 0; A: -, srtt 60, health 0; B: "
     "-, srtt 8, health 0"},
    {"an attempt timeout moves on to the other server",
     Timing::slow_hedges,
     {{210, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "200: #0 timeout", "200: #1 B/udp 200ms", "210: answer #1", "210: done: answered",
      "210: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: timeout, srtt 42, health "
     "1; B: -, srtt 10, health 0"},
    {"TC=1 asks the same server again over TCP",
     Timing::defaults,
     {{5, Act::truncated, 0}, {8, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "5: #1 A/tcp 200ms", "8: answer #1", "8: done: answered", "8: ended"},
     "sent 1/1, answers 1, hedges 0, won 0, failover 0, late 0, retries 0, tcp retries 1; A: -, srtt 3, health 0; B: "
     "-, srtt 20, health 0"},
    {"TC=1 and the server's TCP is silent: a hedge one round trip later asks the other server",
     Timing::defaults,
     {{5, Act::truncated, 0}, {70, Act::truncated, 2}, {72, Act::answer, 3}},
     {"0: #0 A/udp 200ms", "5: #1 A/tcp 200ms", "67: #2 B/udp 200ms", "70: #3 B/tcp 200ms", "72: answer #3",
      "205: #1 timeout", "205: done: answered", "205: ended"},
     "sent 2/2, answers 1, hedges 1, won 1, failover 0, late 0, retries 0, tcp retries 2; A: timeout, srtt 42, health "
     "1; B: -, srtt 2, health 0"},
    {"SERVFAIL moves on at once; the other server's answer makes it a failure of the first",
     Timing::defaults,
     {{5, Act::servfail, 0}, {9, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "5: #1 B/udp 200ms", "9: answer #1", "9: done: answered", "9: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: servfail, srtt 20, health "
     "1; B: -, srtt 4, health 0"},
    {"REFUSED moves on at once, and counts against the first once the other answers",
     Timing::defaults,
     {{5, Act::refused, 0}, {9, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "5: #1 B/udp 200ms", "9: answer #1", "9: done: answered", "9: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: refused, srtt 20, health "
     "1; B: -, srtt 4, health 0"},
    {"FORMERR is an error RCODE like SERVFAIL: moves on",
     Timing::defaults,
     {{5, Act::formerr, 0}, {9, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "5: #1 B/udp 200ms", "9: answer #1", "9: done: answered", "9: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: servfail, srtt 20, health "
     "1; B: -, srtt 4, health 0"},
    {"every server fails: the last error answer is the fallback, and nobody's health hears of it",
     Timing::defaults,
     {{5, Act::servfail, 0}, {9, Act::refused, 1}},
     {"0: #0 A/udp 200ms", "5: #1 B/udp 200ms", "9: done: failed, last refused, fallback REFUSED", "9: ended"},
     "sent 2/0, answers 0, hedges 0, won 0, failover 0, late 0, retries 0, tcp retries 0; A: servfail, srtt 20, health "
     "0; B: refused, srtt 20, health 0"},
    {"every server times out twice (tries = 2, each wait doubled): failed before the deadline",
     Timing::defaults,
     {},
     {"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "200: #0 timeout", "200: #2 A/udp 400ms", "242: #1 timeout",
      "242: #3 B/udp 400ms", "600: #2 timeout", "642: #3 timeout", "642: done: failed, last timeout", "642: ended"},
     "sent 4/0, answers 0, hedges 1, won 0, failover 0, late 0, retries 2, tcp retries 0; A: timeout timeout, srtt 87, "
     "health 2; B: timeout timeout, srtt 87, health 2"},
    {"the deadline abandons what still runs",
     Timing::long_attempts,
     {},
     {"0: #0 A/udp 3000ms", "42: #1 B/udp 3000ms", "1500: #0 abandoned", "1500: #1 abandoned",
      "1500: done: failed, last timeout", "1500: ended"},
     "sent 2/0, answers 0, hedges 1, won 0, failover 0, late 0, retries 0, tcp retries 0; A: -, srtt 20, health 0; B: "
     "-, srtt 20, health 0"},
    {"answered, then the deadline abandons the slow attempt",
     Timing::long_attempts,
     {{50, Act::answer, 1}},
     {"0: #0 A/udp 3000ms", "42: #1 B/udp 3000ms", "50: answer #1", "1500: #0 abandoned", "1500: done: answered",
      "1500: ended"},
     "sent 2/0, answers 1, hedges 1, won 1, failover 0, late 0, retries 0, tcp retries 0; A: -, srtt 20, health 0; B: "
     "-, srtt 8, health 0"},
    {"a server that cannot be reached is passed over at once",
     Timing::defaults,
     {{4, Act::answer, 0}},
     {"0: A/udp fails at once", "0: #0 B/udp 200ms", "4: answer #0", "4: done: answered", "4: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: network, srtt 20, health "
     "1; B: -, srtt 4, health 0",
     {"A"}},
    {"a network error (ICMP unreachable) moves on",
     Timing::defaults,
     {{4, Act::network, 0}, {7, Act::answer, 1}},
     {"0: #0 A/udp 200ms", "4: #0 network", "4: #1 B/udp 200ms", "7: answer #1", "7: done: answered", "7: ended"},
     "sent 2/0, answers 1, hedges 0, won 0, failover 1, late 0, retries 0, tcp retries 0; A: network, srtt 20, health "
     "1; B: -, srtt 3, health 0"},
    {"the client was answered elsewhere (stale): no more failovers; the end says failed",
     Timing::defaults,
     {{10, Act::client_answered}, {20, Act::servfail, 0}},
     {"0: #0 A/udp 200ms", "10: client answered elsewhere", "20: done: failed, last servfail, fallback SERVFAIL",
      "20: ended"},
     "sent 1/0, answers 0, hedges 0, won 0, failover 0, late 0, retries 0, tcp retries 0; A: servfail, srtt 20, health "
     "0; B: -, srtt 20, health 0"},
    {"the client was answered elsewhere: a later answer still reaches the listener, as late",
     Timing::defaults,
     {{10, Act::client_answered}, {60, Act::answer, 0}},
     {"0: #0 A/udp 200ms", "10: client answered elsewhere", "60: answer #0", "60: done: answered", "60: ended"},
     "sent 1/0, answers 1, hedges 0, won 0, failover 0, late 1, retries 0, tcp retries 0; A: -, srtt 60, health 0; B: "
     "-, srtt 20, health 0"},
    {"a lost datagram is sent again once every server was asked; the retry's answer is the client's",
     Timing::defaults,
     {{250, Act::answer, 2}},
     {"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "200: #0 timeout", "200: #2 A/udp 400ms", "242: #1 timeout",
      "242: #3 B/udp 400ms", "250: answer #2", "642: #3 timeout", "642: done: answered", "642: ended"},
     "sent 4/0, answers 1, hedges 1, won 0, failover 0, late 0, retries 2, tcp retries 0; A: timeout, srtt 50, "
     "health 0; B: timeout timeout, srtt 87, health 2"},
    {"a server its timeouts marked down is not asked again",
     Timing::defaults,
     {},
     {"0: #0 A/udp 200ms", "42: #1 B/udp 200ms", "200: #0 timeout", "242: #1 timeout",
      "242: done: failed, last timeout", "242: ended"},
     "sent 2/0, answers 0, hedges 1, won 0, failover 0, late 0, retries 0, tcp retries 0; A: timeout, srtt 42, "
     "health down; B: timeout, srtt 42, health down",
     {},
     1},
    {"a reload during the query: the transaction keeps its set to the end",
     Timing::defaults,
     {{1, Act::reload}, {5, Act::answer, 0}},
     {"0: #0 A/udp 200ms", "1: reload", "5: answer #0", "5: done: answered", "5: ended"},
     "sent 1/0, answers 1, hedges 0, won 0, failover 0, late 0, retries 0, tcp retries 0; A: -, srtt 5, health 0; B: "
     "-, srtt 20, health 0"},
};

}  // namespace

TEST_CASE("transaction: hedges, failover, retries, TC=1, error RCODEs, deadline, late answers, reload") {
  for (const auto& row : rows) {
    CAPTURE(row.name);
    World w(row);
    std::weak_ptr<const UpstreamSet> runtime = w.runtime;
    play(w, row);
    CHECK(w.log.lines == row.log);
    CHECK(w.counts_at_done == row.counts);
    CHECK(w.transaction.phase() == Transaction::Phase::ended);
    CHECK(!runtime.expired());  // held to the end, even after a reload let go of it
    w.transaction.clear();
    if (!w.runtime) CHECK(runtime.expired());  // and let go of when cleared
  }
}

TEST_CASE("transaction: cleared and started again, it reuses its exchanges and starts afresh") {
  World w(rows[0]);
  play(w, rows[0]);
  CHECK(w.exchanges.made == 1);
  w.transaction.clear();
  CHECK(w.transaction.phase() == Transaction::Phase::idle);
  w.log.lines.clear();
  w.log.start = w.time.now();
  play(w, rows[0]);
  CHECK(w.exchanges.made == 1);  // the same UDP exchange, started again
  CHECK(w.log.lines == std::vector<std::string>{"0: #1 A/udp 200ms", "3: answer #1", "3: done: answered", "3: ended"});
}
