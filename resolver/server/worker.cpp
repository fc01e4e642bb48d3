#include "server/worker.hpp"

#include <stdexcept>

namespace diresolver {

Worker::Worker(const Runtime& runtime, WorkerSockets sockets, PacketCache* cache) : counters_(runtime.server_count) {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  forwarder_ = std::make_unique<Forwarder>(&loop_, runtime.config.upstream, counters_);
  handler_ = std::make_unique<QueryHandler>(runtime, *forwarder_, cache, counters_);
  for (auto& fd : sockets.udp)
    udp_.push_back(std::make_unique<UdpListener>(&loop_, std::move(fd), *handler_, counters_));
  const auto& server = runtime.config.server;
  for (auto& fd : sockets.tcp)
    tcp_.push_back(std::make_unique<TcpListener>(&loop_, std::move(fd), *handler_, counters_,
                                                 server.tcp_idle_timeout_ms, server.tcp_max_connections));
  if (uv_async_init(&loop_, stop_signal_.get(), on_stop) != 0) throw std::runtime_error("uv_async_init failed");
  stop_signal_.adopt(this);
  stop_async_ = stop_signal_.get();
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
  // The async handle lives until the worker closes it in response to this very
  // signal, so it must be sent at most once.
  if (!stop_sent_.exchange(true)) uv_async_send(stop_async_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::on_stop(uv_async_t* async) {
  auto* self = uv::Handle<uv_async_t>::owner_of<Worker>(async);
  if (self) self->shut_down();
}

void Worker::shut_down() {
  forwarder_->cancel_all();
  for (auto& listener : udp_) listener->close();
  for (auto& listener : tcp_) listener->close();
  stop_signal_.close();
}

}  // namespace diresolver
