// The cheapest possible DNS servers, floors for tests/bench/throughput --floor.
//
//   udp_reflector ADDRESS PORT               cache-hit floor
//   udp_reflector ADDRESS PORT UPSTREAM PORT cache-miss floor
//
// The first sends every datagram back to its sender with the QR bit set (a
// NOERROR answer with no records to the very question asked). The second
// relays every query to one upstream on a connected socket under a fresh ID
// and the answer back to the client under its own: what a forwarder must do
// at the least, without a cache, a check or a timeout. Both move up to 32
// datagrams per recvmmsg and sendmmsg and do nothing else, so whatever a real
// server spends per answer above them is its own work; what they spend, every
// UDP server on the same kernel pays. A benchmark tool only: IPv4 loopback
// addresses only (checked).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr unsigned batch = 32;
constexpr size_t slot_size = 1232;

struct Batch {
  std::array<std::array<unsigned char, slot_size>, batch> data{};
  std::array<sockaddr_in, batch> peer{};
  std::array<iovec, batch> iov{};
  std::array<mmsghdr, batch> messages{};
  std::array<sockaddr_in*, batch> send_to{};  // nullptr: the connected peer

  int receive(int fd, int flags) {
    for (unsigned i = 0; i < batch; ++i) {
      iov[i] = {data[i].data(), slot_size};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_name = &peer[i];
      messages[i].msg_hdr.msg_namelen = sizeof peer[i];
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    return recvmmsg(fd, messages.data(), batch, flags, nullptr);
  }
  // Received datagram i, its length trimmed to `length`, goes out as message `out`.
  void keep(unsigned out, int i, size_t length, sockaddr_in* to) {
    iov[out] = {data[i].data(), length};
    messages[out].msg_hdr.msg_name = to;
    messages[out].msg_hdr.msg_namelen = to ? sizeof *to : 0;
    messages[out].msg_hdr.msg_iov = &iov[out];
  }
};

uint16_t id_of(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void set_id(unsigned char* p, uint16_t id) {
  p[0] = static_cast<unsigned char>(id >> 8);
  p[1] = static_cast<unsigned char>(id);
}

sockaddr_in loopback(const char* address, const char* port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (inet_pton(AF_INET, address, &sin.sin_addr) != 1 || (ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
    std::fprintf(stderr, "udp_reflector: %s is not an IPv4 loopback address\n", address);
    std::exit(2);
  }
  return sin;
}

int udp_socket(const sockaddr_in* bind_to, const sockaddr_in* connect_to) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  auto* b = reinterpret_cast<const sockaddr*>(bind_to);
  auto* c = reinterpret_cast<const sockaddr*>(connect_to);
  if (fd < 0 || (b && bind(fd, b, sizeof *bind_to) != 0) || (c && connect(fd, c, sizeof *connect_to) != 0)) {
    std::perror("udp_reflector: socket");
    std::exit(1);
  }
  return fd;
}

[[noreturn]] void reflect(int fd) {
  static Batch b;
  for (;;) {
    int received = b.receive(fd, MSG_WAITFORONE);
    unsigned answers = 0;
    for (int i = 0; i < received; ++i) {
      if (b.messages[i].msg_len < 12) continue;
      b.data[i][2] |= 0x80;  // QR
      b.keep(answers++, i, b.messages[i].msg_len, &b.peer[i]);
    }
    if (answers) sendmmsg(fd, b.messages.data(), answers, 0);
  }
}

// Who asked under each upstream ID: the relay's whole state.
struct Waiting {
  sockaddr_in client;
  uint16_t id;
};

[[noreturn]] void relay(int client_fd, int upstream_fd) {
  static Batch b;
  static std::array<Waiting, 65536> waiting;
  uint16_t next_id = 0;
  std::array<pollfd, 2> fds{{{client_fd, POLLIN, 0}, {upstream_fd, POLLIN, 0}}};
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) <= 0) continue;
    if (fds[0].revents & POLLIN) {  // queries: to the upstream under a fresh ID
      int received = b.receive(client_fd, MSG_DONTWAIT);
      unsigned out = 0;
      for (int i = 0; i < received; ++i) {
        if (b.messages[i].msg_len < 12) continue;
        waiting[next_id] = {b.peer[i], id_of(b.data[i].data())};
        set_id(b.data[i].data(), next_id++);
        b.keep(out++, i, b.messages[i].msg_len, nullptr);
      }
      if (out) sendmmsg(upstream_fd, b.messages.data(), out, 0);
    }
    if (fds[1].revents & POLLIN) {  // answers: back to whoever asked, under their ID
      int received = b.receive(upstream_fd, MSG_DONTWAIT);
      unsigned out = 0;
      for (int i = 0; i < received; ++i) {
        if (b.messages[i].msg_len < 12) continue;
        auto& asker = waiting[id_of(b.data[i].data())];
        set_id(b.data[i].data(), asker.id);
        b.keep(out++, i, b.messages[i].msg_len, &asker.client);
      }
      if (out) sendmmsg(client_fd, b.messages.data(), out, 0);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: udp_reflector ADDRESS PORT [UPSTREAM PORT]\n");
    return 2;
  }
  auto listen_on = loopback(argv[1], argv[2]);
  int fd = udp_socket(&listen_on, nullptr);
  if (argc == 3) reflect(fd);
  auto upstream = loopback(argv[3], argv[4]);
  relay(fd, udp_socket(nullptr, &upstream));
}
