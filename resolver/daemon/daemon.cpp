#include "daemon/daemon.hpp"

#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "admin/admin_server.hpp"
#include "admin/cache_admin.hpp"
#include "admin/status.hpp"
#include "config/config_diff.hpp"
#include "daemon/control_socket.hpp"
#include "daemon/dnstap_outputs.hpp"
#include "daemon/privileges.hpp"
#include "dns/name.hpp"
#include "health/prober.hpp"
#include "readiness/address_verdict.hpp"
#include "readiness/gate.hpp"
#include "readiness/notifier.hpp"
#include "server/loop_watch.hpp"
#include "server/worker.hpp"
#include "transport/kit.hpp"
#include "util/log.hpp"
#include "uv/boundary.hpp"
#include "uv/handle.hpp"
#include "util/clock.hpp"

namespace diresolver {

namespace {

unsigned worker_count(const ServerSettings& server) {
  if (server.workers > 0) return server.workers;
  return std::max(1u, std::thread::hardware_concurrency());
}

WorkerSockets bind_sockets(const ServerSettings& server) {
  WorkerSockets sockets;
  for (const auto& address : server.listen) {
    sockets.udp.push_back(open_udp_listener(address, server.freebind));
    sockets.tcp.push_back(open_tcp_listener(address, server.freebind));
  }
  return sockets;
}

// The parts of a running daemon and their order: workers serve clients, the
// control loop (this thread) runs signals, reloads, health probes and
// validation (through its own transport kit), civetweb's threads serve the
// admin pages. Shutdown runs in reverse order.
class Daemon {
 public:
  explicit Daemon(Config config)
      : started_config_(config),
        control_counters_(UpstreamRegistry::max_servers) {
    daemon_counters_.started_unix_s = unix_s();
    uv_loop_init(&control_);
    dnstap_ = std::make_unique<DnstapOutputs>(&control_, worker_count(config.server));
    auto dnstap_log = dnstap_->log_for(config.dnstap);
    dnstap_->running(dnstap_log);
    runtime_ = std::make_shared<Runtime>(std::move(config), registry_, std::move(dnstap_log));
    if (runtime_->config.cache.enabled) cache_ = std::make_unique<PacketCache>(runtime_->config.cache);
    control_transport_ =
        std::make_unique<TransportKit>(&control_, runtime_->config.upstream, control_counters_);
  }
  ~Daemon() {
    stop();
    uv_run(&control_, UV_RUN_DEFAULT);  // lets the control handles' close callbacks run
    uv_loop_close(&control_);
  }

  int run() {
    watch_signals();  // before "started", so an immediate SIGTERM is clean
    gate_ = std::make_unique<ReadinessGate>(&control_, *control_transport_, [this] { return runtime(); });
    try {
      create_workers();
      watch_loops();
      start_admin();
      give_up_root();
      start_control();  // after the uid change: the socket file is the service user's
      for (auto& worker : workers_) worker->start();
    } catch (const std::exception& e) {
      log::error(e.what());
      stop();
      return 1;
    }
    start_prober();
    start_watchdog();  // after watch_loops(): it asks the loop watch
    gate_->start();  // with validation off the gate opens here, before "started"
    log::info("started ", workers_.size(), " worker(s)");
    uv_run(&control_, UV_RUN_DEFAULT);
    log_stats();
    return 0;
  }

 private:
  RuntimePtr runtime() const {
    std::lock_guard lock(runtime_mutex_);
    return runtime_;
  }

  // Binds every worker's sockets; their threads start after give_up_root().
  void create_workers() {
    const auto& server = runtime_->config.server;
    for (unsigned i = 0, n = worker_count(server); i < n; ++i)
      workers_.push_back(std::make_unique<Worker>(i, runtime_, bind_sockets(server), cache_.get(), gate_->di_open()));
    for (const auto& address : server.listen) log::info("listening on ", address.to_string(), " udp+tcp");
  }

  // Every socket is bound: root is no longer needed (reloads never rebind).
  void give_up_root() {
    auto done = drop_privileges(runtime_->config.server.user);
    if (done.starts_with("running as root"))
      log::warn(done);
    else if (!done.empty())
      log::info(done);
  }

  void start_prober() {
    const auto& c = runtime_->config;
    prober_ = std::make_unique<Prober>(&control_, *control_transport_, runtime_->sets, c.health,
                                       probe_timeout_ms(c.health, c.upstream), control_counters_);
  }

  CounterSources counter_sources() const {
    CounterSources sources{{}, &control_counters_};
    for (const auto& worker : workers_) sources.traffic.push_back(&worker->counters());
    return sources;
  }

  void start_admin() {
    if (const auto& listen = runtime_->config.admin.listen)
      admin_ = std::make_unique<AdminServer>(
          *listen, AdminSources{[this] { return runtime(); }, counter_sources(), cache_.get(), daemon_counters_, *gate_,
                                *loop_watch_});
  }

  void watch_loops() {
    std::vector<LoopWatch::Heartbeat> heartbeats;
    for (const auto& worker : workers_) heartbeats.emplace_back([w = worker.get()] { return w->heartbeat(); });
    loop_watch_ = std::make_unique<LoopWatch>(std::move(heartbeats), monotonic_ms());
    uv_timer_init(&control_, loop_watch_timer_.get());
    loop_watch_timer_.adopt(this);
    uv_timer_start(loop_watch_timer_.get(), on_loop_watch, 100, 100);
  }

  static void on_loop_watch(uv_timer_t* timer) noexcept {
    uv::at_boundary("Daemon::on_loop_watch", [&] {
      auto* self = uv::Handle<uv_timer_t>::owner_of<Daemon>(timer);
      if (self) self->loop_watch_->observe(monotonic_ms());
    });
  }

  void start_control() {
    const auto& path = runtime_->config.control.socket;
    if (path.empty()) return;
    try {
      control_socket_ = std::make_unique<ControlSocket>(&control_, path,
                                                        [this](const std::string& r) { return control_reply(r); });
    } catch (const std::exception& e) {
      log::warn(e.what(), "; `diresolver status`, `flush` and `reload` cannot reach this daemon");
    }
  }

  // A request on the control socket (daemon/control_socket.hpp), answered on this loop.
  std::string control_reply(const std::string& request) {
    std::istringstream words(request);
    std::string command, kind, value;
    words >> command >> kind >> value;
    if (command == "status") return "ok\n" + status_json(*runtime(), counter_sources(), status_sources());
    if (command == "address") return "ok\n" + address_verdict(gate_->view(), loop_watch_->hung(monotonic_ms())).line() + "\n";
    if (command == "reload") {
      auto error = reload();
      return error ? "error: " + *error + "\n" : "ok\nreloaded " + runtime_->config.file + "\n";
    }
    if (command == "flush" && cache_ && (kind.empty() || ((kind == "name" || kind == "zone") && !value.empty()))) {
      auto outcome = flush_cache(*cache_, kind == "name" ? std::optional(value) : std::nullopt,
                                 kind == "zone" ? std::optional(value) : std::nullopt);
      return outcome.error.empty() ? "ok\nflushed " + std::to_string(outcome.flushed) + "\n"
                                   : "error: " + outcome.error + "\n";
    }
    if (command == "flush" && !cache_) return "error: the cache is off ([cache] enabled = false)\n";
    return "error: unknown request \"" + request + "\" (status, address, flush [name NAME | zone ZONE], reload)\n";
  }

  StatusSources status_sources() const {
    return {daemon_counters_, gate_->view(), cache_ ? std::optional(cache_->stats()) : std::nullopt};
  }

  // SIGHUP or `diresolver reload`: a new config for routing, upstreams, health
  // and timeouts. A bad file is logged and counted, and the running config stays.
  std::optional<std::string> reload() {
    Config config;
    try {
      config = load_config(runtime_->config.file);
    } catch (const ConfigError& e) {
      return reload_failed(e.what());
    }
    RuntimePtr next;
    try {
      auto dnstap_log = dnstap_->log_for(config.dnstap);
      next = std::make_shared<Runtime>(std::move(config), registry_, std::move(dnstap_log));
    } catch (const std::exception& e) {
      return reload_failed(e.what());
    }
    apply(next);
    return std::nullopt;
  }

  std::string reload_failed(const std::string& why) {
    daemon_counters_.reloads_failed.inc();
    daemon_counters_.record_reload(false, why);
    log::error("reload failed, keeping the running config: ", why);
    return why;
  }

  void apply(const RuntimePtr& next) {
    for (const auto& what : restart_only_changes(started_config_, next->config))
      log::warn("reload: ", what, " changed; that takes effect after a restart");
    auto flush = zones_to_flush(runtime_->config, next->config);
    prober_->stop();
    if (cache_) cache_->refuse_before(next->generation);  // before the flush below, not after
    {
      std::lock_guard lock(runtime_mutex_);
      runtime_ = next;
    }
    for (auto& worker : workers_) worker->use(next);
    dnstap_->running(next->dnstap);
    start_prober();
    for (const auto& zone : flush) {
      size_t flushed = cache_ ? cache_->flush_zone(zone_name_to_wire(zone)) : 0;
      log::info("reload: servers of ", zone, " changed; flushed ", flushed, " cached answers");
    }
    daemon_counters_.reloads_ok.inc();
    daemon_counters_.record_reload(true, "");
    log::info("reloaded ", next->config.file);
  }

  // WATCHDOG=1 at half systemd's interval, but only while every event loop
  // still turns (server/loop_watch.hpp): a hung worker gets the process restarted.
  void start_watchdog() {
    auto usec = watchdog_interval_usec();
    if (!usec) return;
    uv_timer_init(&control_, watchdog_.get());
    watchdog_.adopt(this);
    auto every_ms = std::max<uint64_t>(1, *usec / 2000);
    uv_timer_start(watchdog_.get(), on_watchdog, 0, every_ms);
    log::info("systemd watchdog: every ", every_ms, " ms");
  }

  static void on_watchdog(uv_timer_t* timer) noexcept {
    uv::at_boundary("Daemon::on_watchdog", [&] {
      auto* self = uv::Handle<uv_timer_t>::owner_of<Daemon>(timer);
      if (self) self->pet_watchdog();
    });
  }

  void pet_watchdog() {
    if (!loop_watch_->hung(monotonic_ms())) notify_watchdog();
  }

  void watch_signals() {
    for (auto* handle : {&term_, &interrupt_, &hangup_}) {
      uv_signal_init(&control_, handle->get());
      handle->adopt(this);
    }
    uv_signal_start(term_.get(), on_stop_signal, SIGTERM);
    uv_signal_start(interrupt_.get(), on_stop_signal, SIGINT);
    uv_signal_start(hangup_.get(), on_hangup, SIGHUP);
  }

  static void on_stop_signal(uv_signal_t* handle, int signum) noexcept {
    uv::at_boundary("Daemon::on_stop_signal", [&] {
      auto* self = uv::Handle<uv_signal_t>::owner_of<Daemon>(handle);
      if (!self) return;
      log::info("signal ", signum, ": shutting down");
      self->stop();
    });
  }

  static void on_hangup(uv_signal_t* handle, int) noexcept {
    uv::at_boundary("Daemon::on_hangup", [&] {
      auto* self = uv::Handle<uv_signal_t>::owner_of<Daemon>(handle);
      if (self && self->prober_) self->reload();
    });
  }

  void stop() {
    control_socket_.reset();
    if (admin_) admin_->close();
    if (gate_) gate_->stop();
    watchdog_.close();
    loop_watch_timer_.close();
    if (prober_) prober_->stop();
    for (auto& worker : workers_) worker->stop();
    for (auto& worker : workers_) worker->join();
    if (dnstap_) dnstap_->close();
    control_transport_->close();
    term_.close();
    interrupt_.close();
    hangup_.close();
  }

  void log_stats() const {
    std::string line = "stats";
    for (const auto& total : sum_counters(counter_sources().traffic))
      line += " " + total.name + "=" + std::to_string(total.value);
    log::info(line);
  }

  UpstreamRegistry registry_;         // before runtime_: the runtime's servers come from it
  mutable std::mutex runtime_mutex_;  // guards runtime_ for the admin threads; the control thread writes it
  RuntimePtr runtime_;
  std::unique_ptr<DnstapOutputs> dnstap_;  // the runtime holds its log; the daemon closes replaced ones
  // What restart-only settings still are, whatever a reload read: a change reverted is no change.
  const Config started_config_;
  uv_loop_t control_{};
  WorkerCounters control_counters_;  // health probes and validation
  DaemonCounters daemon_counters_;
  std::unique_ptr<PacketCache> cache_;               // shared by all workers; null when disabled
  std::unique_ptr<TransportKit> control_transport_;  // outlives the prober's and the gate's exchanges
  std::unique_ptr<ReadinessGate> gate_;              // declared before the workers, which read its flag
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<Prober> prober_;
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<ControlSocket> control_socket_;
  std::unique_ptr<LoopWatch> loop_watch_;  // reads the workers' heartbeats
  uv::Handle<uv_timer_t> loop_watch_timer_;
  uv::Handle<uv_timer_t> watchdog_;
  uv::Handle<uv_signal_t> term_;
  uv::Handle<uv_signal_t> interrupt_;
  uv::Handle<uv_signal_t> hangup_;
};

}  // namespace

int run_daemon(Config config) {
  // A client that resets its TCP connection must not kill the process on write.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>(std::move(config));  // opens the dnstap output, which may fail
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
  return daemon->run();
}

}  // namespace diresolver
