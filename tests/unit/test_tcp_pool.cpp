// The upstream TCP pool across a reload: a connection must not depend on the
// Upstream object it was opened for (a reload frees it while the connection
// idles), and a server id that a reload hands to another address must not
// reuse the old address's connection. A real libuv loop and real TCP servers
// on loopback (the suite runs inside its own network namespace).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "transport/tcp_pool.hpp"
#include "upstream/upstream_registry.hpp"

using namespace diresolver;

namespace {

// Answers each framed query with itself, QR set; one connection at a time.
// Until start() (at once by default) its port is bound but refuses connections.
class TcpEcho {
 public:
  explicit TcpEcho(bool listening = true) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
    socklen_t length = sizeof sin;
    REQUIRE(getsockname(listener_, reinterpret_cast<sockaddr*>(&sin), &length) == 0);
    address_ = *SockAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin));
    if (listening) start();
  }
  void start() {
    REQUIRE(listen(listener_, 4) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~TcpEcho() {
    shutdown(listener_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }
  const SockAddr& address() const { return address_; }
  std::atomic<int> queries{0};
  std::atomic<int> connections{0};

 private:
  void serve() {
    for (int fd; (fd = accept(listener_, nullptr, nullptr)) >= 0; close(fd)) {
      ++connections;
      uint8_t frame[2 + 512];
      while (read_exactly(fd, frame, 2)) {
        size_t size = size_t{frame[0]} << 8 | frame[1];
        if (size < 12 || size > 512 || !read_exactly(fd, frame + 2, size)) break;
        frame[2 + 2] |= 0x80;  // QR
        ++queries;
        if (write(fd, frame, 2 + size) != ssize_t(2 + size)) break;
      }
    }
  }
  static bool read_exactly(int fd, uint8_t* out, size_t size) {
    for (size_t got = 0; got < size;) {
      ssize_t n = read(fd, out + got, size - got);
      if (n <= 0) return false;
      got += size_t(n);
    }
    return true;
  }
  int listener_ = -1;
  SockAddr address_;
  std::thread thread_;
};

struct Waiter final : PendingAnswer {
  int answers = 0;
  int failures = 0;
  bool on_answer(dns::Bytes) override {
    ++answers;
    return true;
  }
  void on_connection_failed() override { ++failures; }
};

std::vector<uint8_t> query(uint16_t id) {
  // Header (ID, RD, one question), then "a." A IN.
  return {uint8_t(id >> 8), uint8_t(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
}

struct Fixture {
  uv_loop_t loop;
  WorkerCounters counters{UpstreamRegistry::max_servers};
  std::vector<uint8_t> scratch = std::vector<uint8_t>(65536);
  std::unique_ptr<TcpPool> pool;

  explicit Fixture(uint32_t idle_ms) {
    REQUIRE(uv_loop_init(&loop) == 0);
    pool = std::make_unique<TcpPool>(&loop, idle_ms, 1000, counters, scratch);
  }
  ~Fixture() {
    pool.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  void run_until(const std::function<bool()>& done, uint64_t limit_ms = 3000) {
    uv_timer_t tick;  // keeps the loop turning while the echo thread works
    uv_timer_init(&loop, &tick);
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    uint64_t give_up = uv_now(&loop) + limit_ms;
    while (!done() && uv_now(&loop) < give_up) uv_run(&loop, UV_RUN_ONCE);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  std::unique_ptr<Upstream> server(unsigned id, const SockAddr& address) {
    return std::make_unique<Upstream>(id, "s", address, "example.", HealthSettings{});
  }
};

}  // namespace

TEST_CASE("a TCP connection outlives the Upstream it was opened for, and closes cleanly when idle") {
  TcpEcho echo;
  Waiter waiter;  // outlives the pool: a waiter still pending at teardown is failed, not dangling
  Fixture f(50);
  auto server = f.server(7, echo.address());
  auto packet = query(1);
  REQUIRE(f.pool->submit(*server, packet, &waiter) == SubmitResult::sent);
  f.run_until([&] { return waiter.answers == 1; });
  CHECK(waiter.answers == 1);
  server.reset();                           // a reload dropped the server; its connection still idles in the pool
  f.run_until([&] { return false; }, 150);  // past the idle timeout: the connection closes (ASan watches)
  auto again = f.server(7, echo.address());
  packet = query(2);
  REQUIRE(f.pool->submit(*again, packet, &waiter) == SubmitResult::sent);
  f.run_until([&] { return waiter.answers == 2; });
  CHECK(waiter.answers == 2);
  CHECK(waiter.failures == 0);
  CHECK(echo.connections.load() == 2);  // the idle one was closed, a new one opened
}

TEST_CASE("a server id a reload gives to another address opens a new connection there") {
  TcpEcho old_address, new_address;
  Waiter first, second;  // outlive the pool
  Fixture f(10'000);
  auto before = f.server(7, old_address.address());
  auto after = f.server(7, new_address.address());
  auto first_packet = query(1), second_packet = query(2);
  // The first query still waits (not even connected) when the id moves: it is answered where it was sent.
  REQUIRE(f.pool->submit(*before, first_packet, &first) == SubmitResult::sent);
  REQUIRE(f.pool->submit(*after, second_packet, &second) == SubmitResult::sent);
  f.run_until([&] { return first.answers == 1 && second.answers == 1; });
  CHECK(first.answers == 1);
  CHECK(second.answers == 1);
  CHECK(first.failures + second.failures == 0);
  CHECK(old_address.queries.load() == 1);
  CHECK(new_address.queries.load() == 1);
  // Later queries for the id go to the new address only.
  auto third_packet = query(3);
  REQUIRE(f.pool->submit(*after, third_packet, &second) == SubmitResult::sent);
  f.run_until([&] { return second.answers == 2; });
  CHECK(new_address.queries.load() == 2);
  CHECK(old_address.queries.load() == 1);
}

// Validation asks for a fresh connection each round: after a round whose
// connect was refused, the next must try again at once, not be told
// "unavailable" by the backoff that protects live traffic.
TEST_CASE("reconnect retires the connection and forgets a connect failure's backoff") {
  TcpEcho echo(false);  // bound, refusing
  Waiter waiter;        // outlives the pool
  Fixture f(10'000);
  auto server = f.server(3, echo.address());
  auto first = query(1), second = query(2);
  REQUIRE(f.pool->submit(*server, first, &waiter) == SubmitResult::sent);  // queued until the connect ends
  f.run_until([&] { return waiter.failures == 1; });
  REQUIRE(waiter.failures == 1);
  echo.start();
  CHECK(f.pool->submit(*server, second, &waiter) == SubmitResult::unavailable);  // backing off
  f.pool->reconnect(*server);
  REQUIRE(f.pool->submit(*server, second, &waiter) == SubmitResult::sent);
  f.run_until([&] { return waiter.answers == 1; });
  CHECK(waiter.answers == 1);
  CHECK(echo.connections.load() == 1);
}
