// Reused, pipelined TCP connections to upstream servers (RFC 7766 §6.2.1):
// one per server per worker, opened on first use, answers matched to waiting
// exchanges by query ID, closed after `idle_ms` with nothing pending.
//
// A failed connect puts the server in backoff (100 ms doubling to 5 s) during
// which submissions fail at once, so a dead server's TCP path costs nothing
// while UDP and the health checks carry on. A broken connection fails every
// exchange waiting on it; the next submission opens a new one.
#pragma once

#include <uv.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "dns/wire.hpp"
#include "metrics/counters.hpp"
#include "upstream/upstream.hpp"
#include "uv/graveyard.hpp"
#include "uv/handle.hpp"

namespace diresolver {

// An exchange waiting for its answer on a pooled connection.
class PendingAnswer {
 public:
  // Returns false if the message is not an answer to this query (kept waiting).
  virtual bool on_answer(dns::Bytes message) = 0;
  virtual void on_connection_failed() = 0;

 protected:
  ~PendingAnswer() = default;
};

class TcpPool;

enum class SubmitResult { sent, id_in_use, unavailable, no_descriptors };

class UpstreamConnection {
 public:
  UpstreamConnection(TcpPool& pool, const Upstream& server);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  int open();  // 0, or libuv's error
  unsigned server_id() const { return server_id_; }
  bool idle() const { return pending_.empty(); }
  SubmitResult submit(dns::Bytes packet, PendingAnswer* waiter);
  void cancel(uint16_t id, PendingAnswer* waiter);
  void close();  // fails everything pending

 private:
  static void on_connect(uv_connect_t* req, int status) noexcept;
  static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) noexcept;
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void on_idle(uv_timer_t* timer) noexcept;
  void connected();
  void dispatch(dns::Bytes message);
  void take_messages();
  bool write(dns::Bytes packet);  // false: libuv refused it at once
  void update_idle_timer();

  TcpPool& pool_;
  // Copies, not the Upstream: a reload may free it while this connection idles.
  unsigned server_id_;
  SockAddr address_;
  uv::Handle<uv_tcp_t> socket_;
  uv::Handle<uv_timer_t> idle_;
  bool connected_ = false;
  bool closed_ = false;
  std::unordered_map<uint16_t, PendingAnswer*> pending_;
  std::vector<std::vector<uint8_t>> unsent_;  // queued until connected
  std::vector<uint8_t> received_;
};

class TcpPool {
 public:
  TcpPool(uv_loop_t* loop, uint32_t idle_ms, uint32_t connect_timeout_ms, WorkerCounters& counters,
          std::vector<uint8_t>& scratch);
  ~TcpPool();
  TcpPool(const TcpPool&) = delete;
  TcpPool& operator=(const TcpPool&) = delete;

  // unavailable: the server is in connect backoff (or the socket failed);
  // no_descriptors: this host is out of file descriptors (no backoff: not the server's fault);
  // id_in_use: pick another ID, this one already waits on the connection.
  SubmitResult submit(const Upstream& server, dns::Bytes packet, PendingAnswer* waiter);
  void cancel(const Upstream& server, uint16_t id, PendingAnswer* waiter);
  // Retires the connection to `server`, if any, and forgets a connect backoff:
  // the next submission opens a new connection at once.
  void reconnect(const Upstream& server);
  void close_all();

 private:
  friend class UpstreamConnection;
  struct ServerSlot {
    SockAddr address;  // after a reload the id may name another server
    std::unique_ptr<UpstreamConnection> connection;
    int64_t backoff_ms = 0;
    int64_t retry_at_ms = 0;
  };
  ServerSlot& slot_for(const Upstream& server);
  SubmitResult open_failed(ServerSlot& slot, int error);
  void retire(std::unique_ptr<UpstreamConnection> connection);
  ServerSlot* slot_of(UpstreamConnection* connection);  // nullptr once another connection holds the slot
  void connect_failed(UpstreamConnection* connection);
  void connect_succeeded(UpstreamConnection* connection);
  void closed(UpstreamConnection* connection);

  uv_loop_t* loop_;
  uint32_t idle_ms_;
  uint32_t connect_timeout_ms_;
  WorkerCounters& counters_;
  std::vector<uint8_t>& scratch_;
  std::unordered_map<unsigned, ServerSlot> slots_;            // by Upstream::id()
  std::vector<std::unique_ptr<UpstreamConnection>> retired_;  // an old address's, until idle
  uv::Graveyard<UpstreamConnection> graveyard_;
};

}  // namespace diresolver
