#include "forward/forwarder.hpp"

namespace diresolver {

Forwarder::Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters)
    : counters_(counters), scratch_(65536), tcp_(loop, settings.tcp_idle_timeout_ms, counters, scratch_),
      udp_(loop, counters), timers_(loop),
      context_{loop, settings, counters, ids_, scratch_, tcp_, udp_, timers_, nullptr},
      recycle_turn_(loop, [](void* self) { static_cast<Forwarder*>(self)->recycle(); }, this) {}

Forwarder::~Forwarder() { cancel_all(); }

void Forwarder::forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set,
                        ForwardDone done, ForwardOptions options, Instant now) {
  auto order = set.order_for_query(now.ms(), rotation_++);
  auto transaction = take_spare();
  auto* raw = transaction.get();
  raw->live_slot = live_.size();
  live_.push_back(std::move(transaction));
  raw->start(packet, query, set, order, std::move(done), std::move(options), now);
}

std::unique_ptr<Transaction> Forwarder::take_spare() {
  if (spare_.empty()) return std::make_unique<Transaction>(context_, [this](Transaction* t) { ended(t); });
  auto transaction = std::move(spare_.back());
  spare_.pop_back();
  return transaction;
}

void Forwarder::ended(Transaction* transaction) {
  size_t slot = transaction->live_slot;
  if (slot >= live_.size() || live_[slot].get() != transaction) return;
  resting_.push_back(std::move(live_[slot]));
  if (slot + 1 != live_.size()) {
    live_[slot] = std::move(live_.back());
    live_[slot]->live_slot = slot;
  }
  live_.pop_back();
  recycle_turn_.arm();  // if it cannot, the next transaction to end tries again
}

void Forwarder::recycle() {
  for (auto& transaction : resting_) {
    transaction->clear();
    if (spare_.size() < max_spares) spare_.push_back(std::move(transaction));
  }
  resting_.clear();  // those beyond max_spares are freed here
}

void Forwarder::cancel_all() {
  live_.clear();
  resting_.clear();
  spare_.clear();
  recycle_turn_.close();
  tcp_.close_all();
  udp_.close_all();  // after every exchange that could still name one of its sockets
  timers_.close();
}

}  // namespace diresolver
