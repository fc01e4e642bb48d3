// A query to one upstream over TCP (RFC 7766): connect, send one framed
// message, read one framed answer, close. Used when a UDP answer came back
// truncated. Connection reuse and pipelining arrive with the upstream-set work.
#pragma once

#include "upstream/exchange.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class TcpExchange final : public Exchange {
 public:
  TcpExchange(const ExchangeRequest& request, ExchangeDone done);
  bool start() override;

 private:
  static void on_connect(uv_connect_t* req, int status);
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_timeout(uv_timer_t* timer);
  void connected();
  void take_messages();
  void fail(UpstreamError error);
  void finish(ExchangeResult&& result);

  ExchangeRequest request_;
  std::vector<uint8_t> packet_;  // kept until connected
  ExchangeDone done_;
  uv::Handle<uv_tcp_t> socket_;
  uv::Handle<uv_timer_t> timer_;
  std::vector<uint8_t> received_;
};

}  // namespace diresolver
