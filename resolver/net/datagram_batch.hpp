// Datagrams kept for one sendmmsg. A small UDP message costs mostly its system
// call, so a loop turn's answers to clients, and its queries to one upstream
// socket, are written together (see uv/end_of_turn.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "dns/wire.hpp"
#include "net/address.hpp"

namespace diresolver {

class DatagramBatch {
 public:
  static constexpr size_t max_messages = 32;
  static constexpr size_t byte_capacity = max_messages * 1232;  // EDNS-sized answers, without growing

  DatagramBatch() { bytes_.reserve(byte_capacity); }
  DatagramBatch(const DatagramBatch&) = delete;
  DatagramBatch& operator=(const DatagramBatch&) = delete;

  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == max_messages; }
  // Keeps a copy, addressed to `to` (nullptr on a connected socket); false
  // when it does not fit: flush first, or send it alone.
  bool add(dns::Bytes datagram, const SockAddr* to = nullptr);

  struct Outcome {
    size_t sent = 0;
    size_t failed = 0;     // dropped by the kernel (full buffer, ...): the rest still went
    bool refused = false;  // ECONNREFUSED: a connected socket's peer port is closed (ICMP)
  };
  // Writes every kept datagram on `fd` and forgets them.
  Outcome flush(int fd);

 private:
  size_t count_ = 0;
  std::array<SockAddr, max_messages> to_;
  std::array<bool, max_messages> addressed_{};
  std::array<size_t, max_messages + 1> offsets_{};
  std::vector<uint8_t> bytes_;
};

}  // namespace diresolver
