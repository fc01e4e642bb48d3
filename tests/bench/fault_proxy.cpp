// A DNS fault proxy for tests/bench/failover's grey-failure scenarios (tc netem
// is not available on these machines): it listens where a DI server should be,
// relays to the real one (knotd) and, as told on its standard input, makes the
// server look slow, lossy, broken or half-reachable.
//
//   fault_proxy LISTEN_ADDRESS PORT UPSTREAM_ADDRESS PORT
//
// Commands, one per line on stdin (each `set` changes only the keys it names):
//   set latency_ms=300 jitter_ms=50   every UDP answer held this long (+ up to jitter)
//   set drop=0.3                       this share lost each way (queries in, answers out)
//   set servfail=1 refused=0           this share answered SERVFAIL / REFUSED by the proxy
//   set truncate=1                     UDP answers cut to header + question, TC=1
//   set tcp=ok|reset|blackhole         TCP relayed; reset at once (RST); accepted, never answered
//   clear                              back to a faithful relay
// A benchmark tool: IPv4 loopback addresses only (checked), single-threaded,
// poll(2); draws from a seeded generator, so runs repeat.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<unsigned char>;

enum class TcpFault { ok, reset, blackhole };

struct Faults {
  double latency_ms = 0, jitter_ms = 0, drop = 0, servfail = 0, refused = 0;
  bool truncate = false;
  TcpFault tcp = TcpFault::ok;
};

struct Due {  // a datagram held back by latency
  Clock::time_point at;
  int fd;
  sockaddr_in to;
  Bytes data;
  bool operator>(const Due& other) const { return at > other.at; }
};

struct Pending {  // a query relayed upstream under the proxy's own ID
  sockaddr_in client;
  uint16_t client_id;
};

struct TcpPair {
  int client, upstream;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fault_proxy: %s\n", why.c_str());
  std::exit(1);
}

sockaddr_in loopback(const char* address, const char* port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1 || (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
    die(std::string("not an IPv4 loopback address: ") + address);
  return sa;
}

int bound_socket(int type, const sockaddr_in& at) {
  int fd = socket(AF_INET, type, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) die("bind: " + std::string(strerror(errno)));
  if (type == SOCK_STREAM) listen(fd, 128);
  return fd;
}

// Header and question only, as an error answer or a truncated one is.
Bytes header_and_question(const unsigned char* p, size_t n) {
  size_t at = 12;
  while (at < n && p[at] != 0) at += p[at] + 1u;
  size_t end = std::min(n, at + 5);
  Bytes out(p, p + end);
  for (size_t i = 6; i < 12 && i < out.size(); ++i) out[i] = 0;  // AN, NS, AR counts
  return out;
}

class Proxy {
 public:
  Proxy(const sockaddr_in& listen, const sockaddr_in& upstream) : upstream_(upstream) {
    udp_ = bound_socket(SOCK_DGRAM, listen);
    tcp_ = bound_socket(SOCK_STREAM, listen);
    relay_ = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(relay_, reinterpret_cast<const sockaddr*>(&upstream_), sizeof upstream_) != 0) die("connect");
  }

  void run() {
    for (;;) {
      auto fds = poll_set();
      poll(fds.data(), fds.size(), timeout_ms());
      send_due();
      for (const auto& p : fds)
        if (p.revents) on_ready(p.fd);
    }
  }

 private:
  std::vector<pollfd> poll_set() const {
    std::vector<pollfd> fds{{0, POLLIN, 0}, {udp_, POLLIN, 0}, {relay_, POLLIN, 0}, {tcp_, POLLIN, 0}};
    if (faults_.tcp != TcpFault::blackhole)
      for (const auto& pair : pairs_) fds.push_back({pair.client, POLLIN, 0}), fds.push_back({pair.upstream, POLLIN, 0});
    return fds;
  }

  int timeout_ms() const {
    if (due_.empty()) return 1000;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due_.top().at - Clock::now()).count();
    return static_cast<int>(std::max<long long>(0, left));
  }

  void on_ready(int fd) {
    if (fd == 0) return read_command();
    if (fd == udp_) return on_query();
    if (fd == relay_) return on_answer();
    if (fd == tcp_) return on_accept();
    relay_tcp(fd);
  }

  bool draw(double share) { return share > 0 && uniform_(random_) < share; }

  void on_query() {
    unsigned char buf[65535];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(udp_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 12 || draw(faults_.drop)) return;
    if (draw(faults_.servfail)) return answer_error(buf, static_cast<size_t>(n), from, 2);
    if (draw(faults_.refused)) return answer_error(buf, static_cast<size_t>(n), from, 5);
    uint16_t id = next_id_++;
    pending_[id] = {from, static_cast<uint16_t>(buf[0] << 8 | buf[1])};
    buf[0] = static_cast<unsigned char>(id >> 8);
    buf[1] = static_cast<unsigned char>(id);
    send(relay_, buf, static_cast<size_t>(n), 0);
  }

  void answer_error(const unsigned char* query, size_t n, const sockaddr_in& to, unsigned char rcode) {
    Bytes reply = header_and_question(query, n);
    reply[2] = static_cast<unsigned char>(reply[2] | 0x80);  // QR
    reply[3] = static_cast<unsigned char>(0x80 | rcode);     // RA, RCODE
    hold(udp_, to, std::move(reply));
  }

  void on_answer() {
    unsigned char buf[65535];
    ssize_t n = recv(relay_, buf, sizeof buf, 0);
    if (n < 12) return;
    auto it = pending_.find(static_cast<uint16_t>(buf[0] << 8 | buf[1]));
    if (it == pending_.end()) return;
    Pending p = it->second;
    pending_.erase(it);
    if (draw(faults_.drop)) return;
    buf[0] = static_cast<unsigned char>(p.client_id >> 8);
    buf[1] = static_cast<unsigned char>(p.client_id);
    Bytes answer(buf, buf + n);
    if (faults_.truncate) {
      answer = header_and_question(buf, static_cast<size_t>(n));
      answer[2] = static_cast<unsigned char>(answer[2] | 0x02);  // TC
    }
    hold(udp_, p.client, std::move(answer));
  }

  void hold(int fd, const sockaddr_in& to, Bytes data) {
    double delay = faults_.latency_ms + (faults_.jitter_ms > 0 ? uniform_(random_) * faults_.jitter_ms : 0);
    if (delay <= 0) {
      sendto(fd, data.data(), data.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      return;
    }
    auto at = Clock::now() + std::chrono::microseconds(static_cast<long long>(delay * 1000));
    due_.push({at, fd, to, std::move(data)});
  }

  void send_due() {
    auto now = Clock::now();
    while (!due_.empty() && due_.top().at <= now) {
      const Due& d = due_.top();
      sendto(d.fd, d.data.data(), d.data.size(), 0, reinterpret_cast<const sockaddr*>(&d.to), sizeof d.to);
      due_.pop();
    }
  }

  void on_accept() {
    int client = accept(tcp_, nullptr, nullptr);
    if (client < 0) return;
    if (faults_.tcp == TcpFault::reset) return reset(client);
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(upstream, reinterpret_cast<const sockaddr*>(&upstream_), sizeof upstream_) != 0) {
      close(upstream);
      return reset(client);
    }
    pairs_.push_back({client, upstream});
  }

  static void reset(int fd) {
    linger hard{1, 0};  // close with RST, as a firewall's reject does
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
  }

  void relay_tcp(int fd) {
    for (size_t i = 0; i < pairs_.size(); ++i) {
      auto [client, upstream] = pairs_[i];
      if (fd != client && fd != upstream) continue;
      unsigned char buf[65536];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0 || write(fd == client ? upstream : client, buf, static_cast<size_t>(n)) != n) {
        close(client);
        close(upstream);
        pairs_.erase(pairs_.begin() + static_cast<long>(i));
      }
      return;
    }
  }

  void read_command() {
    char line[512];
    ssize_t n = read(0, line, sizeof line - 1);
    if (n <= 0) std::exit(0);  // the bench went away
    line[n] = 0;
    std::istringstream lines(line);
    for (std::string command; std::getline(lines, command);) apply(command);
  }

  void apply(const std::string& command) {
    std::istringstream words(command);
    std::string verb, pair;
    words >> verb;
    if (verb == "clear") faults_ = Faults{};
    if (verb != "set") return;
    while (words >> pair) {
      auto eq = pair.find('=');
      if (eq == std::string::npos) continue;
      std::string key = pair.substr(0, eq), value = pair.substr(eq + 1);
      if (key == "tcp") set_tcp(value == "reset" ? TcpFault::reset : value == "blackhole" ? TcpFault::blackhole : TcpFault::ok);
      double v = std::atof(value.c_str());
      if (key == "latency_ms") faults_.latency_ms = v;
      if (key == "jitter_ms") faults_.jitter_ms = v;
      if (key == "drop") faults_.drop = v;
      if (key == "servfail") faults_.servfail = v;
      if (key == "refused") faults_.refused = v;
      if (key == "truncate") faults_.truncate = v != 0;
    }
  }

  // A reset takes the open connections down too; a blackhole leaves them
  // open and silent; ok relays them again.
  void set_tcp(TcpFault fault) {
    faults_.tcp = fault;
    if (fault != TcpFault::reset) return;
    for (const auto& pair : pairs_) reset(pair.client), close(pair.upstream);
    pairs_.clear();
  }

  sockaddr_in upstream_;
  int udp_ = -1, tcp_ = -1, relay_ = -1;
  Faults faults_;
  std::unordered_map<uint16_t, Pending> pending_;
  uint16_t next_id_ = 1;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due_;
  std::vector<TcpPair> pairs_;
  std::mt19937 random_{1};
  std::uniform_real_distribution<double> uniform_{0.0, 1.0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) die("usage: fault_proxy LISTEN_ADDRESS PORT UPSTREAM_ADDRESS PORT");
  Proxy proxy(loopback(argv[1], argv[2]), loopback(argv[3], argv[4]));
  std::fprintf(stderr, "fault_proxy: %s:%s -> %s:%s\n", argv[1], argv[2], argv[3], argv[4]);
  proxy.run();
}
