// A worker: one thread, one libuv loop, its own listening sockets, transport
// kit, forwarder, miss path and counters. Workers share only the read-only Runtime and the cache, so
// they never wait on each other.
//
// Everything is set up on the constructing thread before the worker's thread
// starts; stop() and use() may be called from any thread (they wake the loop
// through uv_async). Shutdown order: drop queries in flight, close the
// transport and the listeners, then let the loop run until every close
// callback has fired.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "forward/forwarder.hpp"
#include "metrics/counters.hpp"
#include "server/listen_socket.hpp"
#include "server/miss_path.hpp"
#include "server/query_handler.hpp"
#include "server/responder.hpp"
#include "server/runtime.hpp"
#include "server/tcp_listener.hpp"
#include "server/udp_listener.hpp"
#include "transport/kit.hpp"

namespace diresolver {

struct WorkerSockets {
  std::vector<SocketFd> udp;
  std::vector<SocketFd> tcp;
};

class Worker {
 public:
  // `index`: which of the dnstap log's queues is this worker's.
  Worker(unsigned index, RuntimePtr runtime, WorkerSockets sockets, PacketCache* cache,
         const std::atomic<bool>& di_open);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();  // runs the loop on a new thread
  void stop();   // thread-safe; join() waits for the loop to drain
  void join();
  void use(RuntimePtr runtime);  // thread-safe: a reloaded config for the next queries
  const WorkerCounters& counters() const { return counters_; }
  // Advances while the loop turns: what the systemd watchdog looks at.
  uint64_t heartbeat() const { return heartbeat_.load(std::memory_order_relaxed); }

 private:
  static void on_stop(uv_async_t* async) noexcept;
  static void on_reload(uv_async_t* async) noexcept;
  static void on_heartbeat(uv_timer_t* timer) noexcept;
  void shut_down();

  uv_loop_t loop_{};
  unsigned index_;
  WorkerCounters counters_;
  Tap tap_;
  std::unique_ptr<TransportKit> transport_;  // outlives the forwarder's exchanges
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<ClientResponder> responder_;
  std::unique_ptr<MissPath> misses_;
  std::unique_ptr<QueryHandler> handler_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<TcpListener>> tcp_;
  uv::Handle<uv_async_t> stop_signal_;
  uv_async_t* stop_async_ = nullptr;
  std::atomic<bool> stop_sent_{false};
  uv::Handle<uv_async_t> reload_signal_;
  uv_async_t* reload_async_ = nullptr;
  std::mutex reload_mutex_;
  RuntimePtr pending_runtime_;  // handed over by use(), taken by the loop
  uv::Handle<uv_timer_t> heartbeat_timer_;
  std::atomic<uint64_t> heartbeat_{0};
  std::thread thread_;
};

}  // namespace diresolver
