// The edges: the rate limiter's buckets and table bound, a timeout that fires
// late on a stalled loop (a real loop, a real UDP exchange), and what happens
// when the process has no file descriptor left for an upstream socket.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "loop_fixture.hpp"
#include "server/rate_limiter.hpp"
#include "transport/exchange_judge.hpp"
#include "transport/kit.hpp"
#include "upstream/upstream_registry.hpp"

using namespace diresolver;
using test::answer;
using test::LoopFixture;
using test::receive_query;

namespace {

constexpr int64_t second_ns = 1'000'000'000;

SockAddr address(const char* text) { return *SockAddr::parse(text, 53); }

RateLimiter::Verdict admit(RateLimiter& limiter, const char* client, int64_t now_ns) {
  return limiter.admit(address(client).get(), now_ns);
}

int admitted(RateLimiter& limiter, const char* client, int count, int64_t now_ns) {
  int passed = 0;
  for (int i = 0; i < count; ++i) passed += admit(limiter, client, now_ns) == RateLimiter::Verdict::pass;
  return passed;
}

// The process's descriptors, all taken (with a lowered soft limit), until the end of scope.
class FdTableFull {
 public:
  FdTableFull() {
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(highest_open_fd() + 16);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) taken_.push_back(fd);
    REQUIRE(errno == EMFILE);
  }
  ~FdTableFull() { release(); }
  void release() {
    for (int fd : taken_) close(fd);
    taken_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  static int highest_open_fd() {
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);  // the lowest free number: at most one past the highest
    close(probe);
    int highest = probe;
    for (int fd = probe + 1; fd < probe + 4096; ++fd)
      if (fcntl(fd, F_GETFD) != -1) highest = fd;
    return highest;
  }
  rlimit saved_{};
  std::vector<int> taken_;
};

}  // namespace

TEST_CASE("rate limit: a client gets its burst, then its rate; another client is untouched") {
  RateLimitSettings settings;
  settings.qps = 10;
  settings.burst = 5;
  RateLimiter limiter(settings);
  int64_t t0 = 7 * second_ns;
  CHECK(admitted(limiter, "192.0.2.1", 8, t0) == 5);
  CHECK(admitted(limiter, "192.0.2.2", 8, t0) == 5);
  CHECK(admitted(limiter, "192.0.2.1", 8, t0 + second_ns / 2) == 5);  // 0.5 s at 10/s
  CHECK(admitted(limiter, "192.0.2.1", 8, t0 + second_ns / 2 + second_ns / 10) == 1);
  CHECK(admitted(limiter, "192.0.2.1", 8, t0 + 100 * second_ns) == 5);  // refilled to the burst, no more
}

TEST_CASE("rate limit: clients are grouped by the configured prefixes") {
  RateLimitSettings settings;
  settings.qps = 1;
  settings.ipv4_prefix = 24;
  settings.ipv6_prefix = 56;
  RateLimiter limiter(settings);
  using enum RateLimiter::Verdict;
  CHECK(admit(limiter, "192.0.2.1", 0) == pass);
  CHECK(admit(limiter, "192.0.2.200", 0) == limited);  // the same /24
  CHECK(admit(limiter, "192.0.3.1", 0) == pass);
  CHECK(admit(limiter, "[2001:db8:0:1::1]:53", 0) == pass);
  CHECK(admit(limiter, "[2001:db8:0:ff::2]:53", 0) == limited);  // the same /56
  CHECK(admit(limiter, "[2001:db8:0:100::1]:53", 0) == pass);
}

TEST_CASE("rate limit: a full table forgets refilled buckets, else lets a newcomer through untracked") {
  RateLimitSettings settings;
  settings.qps = 1;
  settings.max_clients = 64;  // one bucket per shard
  RateLimiter limiter(settings);
  int untracked = 0;
  char client[32];
  for (int i = 0; i < 1000; ++i) {
    std::snprintf(client, sizeof client, "10.0.%d.%d", i / 256, i % 256);
    untracked += admit(limiter, client, 0) == RateLimiter::Verdict::untracked;
  }
  CHECK(untracked >= 1000 - 64);  // every shard full of empty buckets
  CHECK(admit(limiter, "10.0.0.0", 0) == RateLimiter::Verdict::limited);  // still tracked: no free pass
  // A second later every bucket has refilled: they are forgotten, and newcomers are tracked again.
  untracked = 0;
  for (int i = 1000; i < 1064; ++i) {
    std::snprintf(client, sizeof client, "10.1.%d.%d", i / 256, i % 256);
    untracked += admit(limiter, client, 2 * second_ns) == RateLimiter::Verdict::untracked;
  }
  CHECK(untracked < 64);
}

TEST_CASE("rate limit: workers share one bucket per client; no token is spent twice or lost") {
  RateLimitSettings settings;
  settings.qps = 1;
  settings.burst = 20000;
  RateLimiter limiter(settings);
  std::atomic<int> passed{0};
  auto worker = [&] {  // one client whose queries the kernel spread over two workers
    for (int i = 0; i < 15000; ++i) passed += admit(limiter, "192.0.2.1", 0) == RateLimiter::Verdict::pass;
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  CHECK(passed == 20000);
}

TEST_CASE("a timer that fires late says how late; the stall grace re-arms once, only when late") {
  uv::ManualTime time;
  uv::TimerList list(uv::TimeSource::manual(time));
  WorkerCounters counters{1};
  struct Owner {
    Owner(uv::TimerList* l, WorkerCounters* c) : list(l), counters(c) {}
    uv::TimerList* list;
    WorkerCounters* counters;
    uv::ListTimer timer;
    StallGrace grace;
    std::vector<uint64_t> lateness;
    int failed = 0;
    static void fire(void* self) {
      auto* owner = static_cast<Owner*>(self);
      owner->lateness.push_back(owner->list->lateness_ms());
      if (!owner->grace.wait_once_more(*owner->list, owner->timer, fire, owner, *owner->counters)) ++owner->failed;
    }
  } on_time(&list, &counters), late(&list, &counters);
  list.start(on_time.timer, 10, Owner::fire, &on_time);
  time.advance_ms(10);
  CHECK(on_time.lateness == std::vector<uint64_t>{0});
  CHECK(on_time.failed == 1);  // on time: a timeout is a timeout
  list.start(late.timer, 10, Owner::fire, &late);
  time.stall_ms(200);  // the loop did not run
  time.advance_ms(0);
  CHECK(late.lateness == std::vector<uint64_t>{190});
  CHECK(late.failed == 0);  // one more turn first
  time.stall_ms(50);
  time.advance_ms(0);
  CHECK(late.failed == 1);  // only once
  CHECK(counters.late_timeouts.get() == 1);
}

// The case 10: the worker's loop stalls while the answer arrives;
// libuv then runs the due timeout before it reads the socket.
TEST_CASE("an answer that arrived while the loop was stalled wins over the timeout that fell due") {
  LoopFixture f;
  auto exchange = f.kit->make(Transport::udp);
  std::optional<ExchangeResult> result;
  uv_update_time(&f.loop);  // timers count from now, not from the loop's start (a busy CI box)
  auto refused = exchange->start(f.request(50), [&](ExchangeResult&& r) { result.emplace(r); });
  REQUIRE_FALSE(refused.has_value());
  uv_run(&f.loop, UV_RUN_NOWAIT);  // the turn's end writes the query out, before the stall
  uv_timer_t stall;
  uv_timer_init(&f.loop, &stall);
  stall.data = &f;
  uv_timer_start(
      &stall,
      [](uv_timer_t* timer) {
        int server = static_cast<LoopFixture*>(timer->data)->server.fd;
        answer(server, receive_query(server));
        std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the timeout falls due meanwhile
      },
      10, 0);
  uint64_t give_up = uv_now(&f.loop) + 2000;
  while (!result && uv_now(&f.loop) < give_up) uv_run(&f.loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&stall), nullptr);
  REQUIRE(result);
  CHECK(result->ok());
  CHECK(f.counters.late_timeouts.get() == 1);
}

TEST_CASE("with no descriptor left, an upstream UDP attempt fails as `local`, and health ignores it") {
  LoopFixture f;
  auto exchange = f.kit->make(Transport::udp);
  std::optional<UpstreamError> refused;
  {
    FdTableFull full;
    refused = exchange->start(f.request(500), [](ExchangeResult&&) {});
  }
  REQUIRE(refused);
  CHECK(*refused == UpstreamError::local);
  CHECK(f.counters.fd_exhausted.get() >= 1);
  Upstream server(2, "s", address("192.0.2.1"), "example.", HealthSettings{1, 1});
  server.report_failure(ResultSource::probe, UpstreamError::local, 0);
  CHECK(server.is_up());
  server.report_failure(ResultSource::probe, UpstreamError::timeout, 0);
  CHECK_FALSE(server.is_up());
  // With descriptors again, the next attempt goes out.
  CHECK_FALSE(exchange->start(f.request(500), [](ExchangeResult&&) {}).has_value());
  exchange->abandon();
}

TEST_CASE("with no descriptor left, an upstream TCP attempt fails as `local` without a backoff") {
  LoopFixture f;
  auto exchange = f.kit->make(Transport::tcp);
  std::optional<UpstreamError> refused;
  {
    FdTableFull full;
    refused = exchange->start(f.request(500), [](ExchangeResult&&) {});
  }
  REQUIRE(refused);
  CHECK(*refused == UpstreamError::local);
  CHECK(f.counters.fd_exhausted.get() == 1);
  // No connect backoff was set: the next attempt opens a connection at once.
  CHECK_FALSE(exchange->start(f.request(500), [](ExchangeResult&&) {}).has_value());
  exchange->abandon();
}
