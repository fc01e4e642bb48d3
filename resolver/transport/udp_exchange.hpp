// A query to one upstream over UDP, from a fresh socket.
//
// A new socket per attempt gives every upstream query its own kernel-chosen
// random source port (RFC 5452 §9.2, Linux randomizes ephemeral ports), and
// connect() makes the kernel discard datagrams from any other source. Answers
// are still checked for source, ID and question; mismatches are counted and
// ignored, and the attempt keeps waiting for the real answer.
#pragma once

#include "transport/exchange.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class UdpExchange final : public Exchange {
 public:
  UdpExchange(const ExchangeRequest& request, ExchangeDone done);
  bool start() override;

 private:
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* from,
                      unsigned flags);
  static void on_timeout(uv_timer_t* timer);
  void receive(std::span<uint8_t> packet, const sockaddr* from);
  void finish(ExchangeResult&& result);

  ExchangeRequest request_;
  uint16_t id_;  // the packet buffer is reused for the next attempt; keep our ID
  ExchangeDone done_;
  uv::Handle<uv_udp_t> socket_;
  uv::Handle<uv_timer_t> timer_;
  bool saw_mismatch_ = false;
};

}  // namespace diresolver
