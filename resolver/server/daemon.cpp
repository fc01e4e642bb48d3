#include "server/daemon.hpp"

#include <csignal>
#include <memory>
#include <thread>

#include "server/worker.hpp"
#include "util/log.hpp"
#include "uv/handle.hpp"

namespace diresolver {

namespace {

unsigned worker_count(const ServerSettings& server) {
  if (server.workers > 0) return server.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

WorkerSockets bind_sockets(const ServerSettings& server) {
  WorkerSockets sockets;
  for (const auto& address : server.listen) {
    sockets.udp.push_back(open_udp_listener(address));
    sockets.tcp.push_back(open_tcp_listener(address));
  }
  return sockets;
}

std::vector<std::unique_ptr<Worker>> start_workers(const Runtime& runtime) {
  std::vector<std::unique_ptr<Worker>> workers;
  unsigned count = worker_count(runtime.config.server);
  for (unsigned i = 0; i < count; ++i)
    workers.push_back(std::make_unique<Worker>(runtime, bind_sockets(runtime.config.server)));
  for (const auto& address : runtime.config.server.listen)
    log::info("listening on ", address.to_string(), " udp+tcp");
  for (auto& worker : workers) worker->start();
  log::info("started ", count, " worker(s)");
  return workers;
}

void log_stats(const std::vector<std::unique_ptr<Worker>>& workers) {
  std::vector<const WorkerCounters*> all;
  for (const auto& worker : workers) all.push_back(&worker->counters());
  std::string line = "stats";
  for (const auto& total : sum_counters(all)) line += " " + total.name + "=" + std::to_string(total.value);
  log::info(line);
}

// The control loop's signal handling: the first SIGTERM/SIGINT stops everything.
class SignalWatch {
 public:
  SignalWatch(uv_loop_t* loop, std::vector<std::unique_ptr<Worker>>& workers) : workers_(workers) {
    for (auto* handle : {&term_, &interrupt_}) {
      uv_signal_init(loop, handle->get());
      handle->adopt(this);
    }
    uv_signal_start(term_.get(), on_signal, SIGTERM);
    uv_signal_start(interrupt_.get(), on_signal, SIGINT);
  }

 private:
  static void on_signal(uv_signal_t* handle, int signum) {
    auto* self = uv::Handle<uv_signal_t>::owner_of<SignalWatch>(handle);
    if (!self) return;
    log::info("signal ", signum, ": shutting down");
    for (auto& worker : self->workers_) worker->stop();
    self->term_.close();
    self->interrupt_.close();
  }

  std::vector<std::unique_ptr<Worker>>& workers_;
  uv::Handle<uv_signal_t> term_;
  uv::Handle<uv_signal_t> interrupt_;
};

}  // namespace

int run_daemon(Config config) {
  // A client that resets its TCP connection must not kill the process on write.
  std::signal(SIGPIPE, SIG_IGN);
  Runtime runtime(std::move(config));
  uv_loop_t control{};
  uv_loop_init(&control);
  int status = 0;
  {
    std::vector<std::unique_ptr<Worker>> workers;
    // Watch signals before announcing "started", so an immediate SIGTERM is clean.
    SignalWatch signals(&control, workers);
    try {
      workers = start_workers(runtime);
    } catch (const std::exception& e) {
      log::error(e.what());
      status = 1;
    }
    if (status == 0) uv_run(&control, UV_RUN_DEFAULT);
    for (auto& worker : workers) worker->join();
    if (status == 0) log_stats(workers);
  }
  uv_run(&control, UV_RUN_DEFAULT);  // lets the signal handles' close callbacks run
  uv_loop_close(&control);
  return status;
}

}  // namespace diresolver
