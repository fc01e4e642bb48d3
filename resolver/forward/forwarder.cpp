#include "forward/forwarder.hpp"

namespace diresolver {

Forwarder::Forwarder(uv::TimeSource time, const UpstreamSettings& settings, WorkerCounters& counters,
                     ExchangeFactory& exchanges, Tap* tap)
    : clock_(time),
      context_{settings, counters, clock_, exchanges, tap},
      recycle_turn_(
          time.loop(), [](void* self) { static_cast<Forwarder*>(self)->recycle(); }, this) {}

Forwarder::~Forwarder() { cancel_all(); }

Transaction& Forwarder::forward(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, ForwardListener& listener,
                                uint32_t tag, Instant now) {
  auto order = set->order_for_query(now.ms(), rotation_++);
  auto transaction = take_spare();
  auto* raw = transaction.get();
  raw->live_slot = live_.size();
  live_.push_back(std::move(transaction));
  raw->start(packet, query, std::move(set), order, listener, tag, now);
  return *raw;
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
  recycle_turn_.arm();  // if it cannot (manual time), they rest until shutdown
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
  clock_.close();
}

}  // namespace diresolver
