#include "server/worker.hpp"

#include <stdexcept>

#include "upstream/upstream_registry.hpp"
#include "uv/boundary.hpp"

namespace diresolver {

Worker::Worker(unsigned index, RuntimePtr runtime, WorkerSockets sockets, PacketCache* cache,
               const std::atomic<bool>& di_open)
    : index_(index), counters_(UpstreamRegistry::max_servers), tap_(counters_) {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  const auto& server = runtime->config.server;
  const auto& upstream = runtime->config.upstream;
  auto time = uv::TimeSource::of_loop(&loop_);
  transport_ = std::make_unique<TransportKit>(&loop_, upstream, counters_);
  tap_.use(runtime->dnstap.get(), index_, runtime->config.dnstap);
  forwarder_ = std::make_unique<Forwarder>(time, upstream, counters_, *transport_, &tap_);
  responder_ = std::make_unique<ClientResponder>(counters_, tap_);
  misses_ = std::make_unique<MissPath>(*forwarder_, cache, *responder_, counters_, time);
  misses_->use_log_settings(runtime->config.log);
  handler_ = std::make_unique<QueryHandler>(runtime, *misses_, cache, *responder_, di_open, counters_, tap_);
  for (auto& fd : sockets.udp)
    udp_.push_back(std::make_unique<UdpListener>(&loop_, std::move(fd), *handler_, counters_));
  for (auto& fd : sockets.tcp)
    tcp_.push_back(std::make_unique<TcpListener>(&loop_, std::move(fd), *handler_, counters_, server));
  if (uv_async_init(&loop_, stop_signal_.get(), on_stop) != 0) throw std::runtime_error("uv_async_init failed");
  stop_signal_.adopt(this);
  stop_async_ = stop_signal_.get();
  if (uv_async_init(&loop_, reload_signal_.get(), on_reload) != 0) throw std::runtime_error("uv_async_init failed");
  reload_signal_.adopt(this);
  reload_async_ = reload_signal_.get();
  if (uv_timer_init(&loop_, heartbeat_timer_.get()) != 0) throw std::runtime_error("uv_timer_init failed");
  heartbeat_timer_.adopt(this);
  // Often enough for any sensible WatchdogSec; a stuck loop stops it.
  uv_timer_start(heartbeat_timer_.get(), on_heartbeat, 100, 100);
}

void Worker::on_heartbeat(uv_timer_t* timer) noexcept {
  uv::at_boundary("Worker::on_heartbeat", [&] {
    auto* self = uv::Handle<uv_timer_t>::owner_of<Worker>(timer);
    if (self) self->heartbeat_.fetch_add(1, std::memory_order_relaxed);
  });
}

Worker::~Worker() {
  join();
  // Whether or not the thread ran, close what is still open and drain the loop here.
  shut_down();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void Worker::start() {
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
}

void Worker::stop() {
  // The async handles live until the worker closes them in response to this
  // very signal, so it must be sent at most once (and no reload after it).
  if (!stop_sent_.exchange(true)) uv_async_send(stop_async_);
}

void Worker::use(RuntimePtr runtime) {
  {
    std::lock_guard lock(reload_mutex_);
    pending_runtime_ = std::move(runtime);
  }
  if (!stop_sent_.load()) uv_async_send(reload_async_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::on_stop(uv_async_t* async) noexcept {
  uv::at_boundary("Worker::on_stop", [&] {
    auto* self = uv::Handle<uv_async_t>::owner_of<Worker>(async);
    if (self) self->shut_down();
  });
}

void Worker::on_reload(uv_async_t* async) noexcept {
  uv::at_boundary("Worker::on_reload", [&] {
    auto* self = uv::Handle<uv_async_t>::owner_of<Worker>(async);
    if (!self) return;
    RuntimePtr runtime;
    {
      std::lock_guard lock(self->reload_mutex_);
      runtime = std::move(self->pending_runtime_);
    }
    if (!runtime) return;
    self->forwarder_->set_settings(runtime->config.upstream);
    self->misses_->use_log_settings(runtime->config.log);
    self->tap_.use(runtime->dnstap.get(), self->index_, runtime->config.dnstap);
    self->handler_->use(std::move(runtime));
  });
}

void Worker::shut_down() {
  forwarder_->cancel_all();
  misses_->close();
  transport_->close();
  for (auto& listener : udp_) listener->close();
  for (auto& listener : tcp_) listener->close();
  stop_signal_.close();
  reload_signal_.close();
  heartbeat_timer_.close();
}

}  // namespace diresolver
