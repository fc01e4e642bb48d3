#include "server/daemon.hpp"

#include <prometheus/text_serializer.h>

#include <csignal>
#include <memory>
#include <sstream>
#include <thread>

#include "metrics/collector.hpp"
#include "metrics/http_server.hpp"
#include "metrics/cache_admin.hpp"
#include "metrics/status.hpp"
#include "server/worker.hpp"
#include "upstream/prober.hpp"
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

// The parts of a running daemon and their order: workers serve clients, the
// control loop (this thread) runs signals and health probes, civetweb's
// threads serve the admin pages. Shutdown runs in the reverse order.
class Daemon {
 public:
  explicit Daemon(Config config) : runtime_(std::move(config)), probe_counters_(runtime_.server_count) {
    if (runtime_.config.cache.enabled) cache_ = std::make_unique<PacketCache>(runtime_.config.cache);
    uv_loop_init(&control_);
  }
  ~Daemon() {
    stop();
    uv_run(&control_, UV_RUN_DEFAULT);  // lets the control handles' close callbacks run
    uv_loop_close(&control_);
  }

  int run() {
    watch_signals();  // before "started", so an immediate SIGTERM is clean
    try {
      start_workers();
      start_admin();
    } catch (const std::exception& e) {
      log::error(e.what());
      stop();
      return 1;
    }
    prober_ = std::make_unique<Prober>(&control_, runtime_.sets, runtime_.config.health, runtime_.config.upstream,
                                       probe_counters_);
    log::info("started ", workers_.size(), " worker(s)");
    uv_run(&control_, UV_RUN_DEFAULT);
    log_stats();
    return 0;
  }

 private:
  void start_workers() {
    unsigned count = worker_count(runtime_.config.server);
    for (unsigned i = 0; i < count; ++i)
      workers_.push_back(std::make_unique<Worker>(runtime_, bind_sockets(runtime_.config.server), cache_.get()));
    for (const auto& address : runtime_.config.server.listen)
      log::info("listening on ", address.to_string(), " udp+tcp");
    for (auto& worker : workers_) worker->start();
  }

  CounterSources counter_sources() const {
    CounterSources sources{{}, &probe_counters_};
    for (const auto& worker : workers_) sources.traffic.push_back(&worker->counters());
    return sources;
  }

  void start_admin() {
    const auto& listen = runtime_.config.admin.listen;
    if (!listen) return;
    http_ = std::make_unique<HttpServer>(*listen);
    auto collector = std::make_shared<MetricsCollector>(runtime_, counter_sources(), cache_.get());
    http_->add_page("/metrics", [collector](const HttpRequest&) {
      std::ostringstream out;
      prometheus::TextSerializer().Serialize(out, collector->Collect());
      return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", out.str()};
    });
    http_->add_page("/status", [this, sources = counter_sources()](const HttpRequest&) {
      return HttpReply{200, "application/json", status_json(runtime_, sources)};
    });
    if (cache_) http_->add_page("/cache/flush", [cache = cache_.get()](const HttpRequest& request) {
      return flush_cache(*cache, request);
    }, HttpMethod::post);
    log::info("admin HTTP on ", listen->to_string(), " (/metrics, /status, /cache/flush)");
  }

  void watch_signals() {
    for (auto* handle : {&term_, &interrupt_}) {
      uv_signal_init(&control_, handle->get());
      handle->adopt(this);
    }
    uv_signal_start(term_.get(), on_signal, SIGTERM);
    uv_signal_start(interrupt_.get(), on_signal, SIGINT);
  }

  static void on_signal(uv_signal_t* handle, int signum) {
    auto* self = uv::Handle<uv_signal_t>::owner_of<Daemon>(handle);
    if (!self) return;
    log::info("signal ", signum, ": shutting down");
    self->stop();
  }

  void stop() {
    if (http_) http_->close();
    if (prober_) prober_->stop();
    for (auto& worker : workers_) worker->stop();
    for (auto& worker : workers_) worker->join();
    term_.close();
    interrupt_.close();
  }

  void log_stats() const {
    std::string line = "stats";
    for (const auto& total : sum_counters(counter_sources().traffic))
      line += " " + total.name + "=" + std::to_string(total.value);
    log::info(line);
  }

  Runtime runtime_;
  uv_loop_t control_{};
  WorkerCounters probe_counters_;
  std::unique_ptr<PacketCache> cache_;  // shared by all workers; null when disabled
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Prober> prober_;
  std::unique_ptr<HttpServer> http_;
  uv::Handle<uv_signal_t> term_;
  uv::Handle<uv_signal_t> interrupt_;
};

}  // namespace

int run_daemon(Config config) {
  // A client that resets its TCP connection must not kill the process on write.
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(config));
  return daemon.run();
}

}  // namespace diresolver
