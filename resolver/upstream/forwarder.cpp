#include "upstream/forwarder.hpp"

namespace diresolver {

Forwarder::Forwarder(uv_loop_t* loop, const UpstreamSettings& settings, WorkerCounters& counters)
    : counters_(counters), scratch_(65536), tcp_(loop, settings.tcp_idle_timeout_ms, counters, scratch_),
      udp_(loop, counters), dead_exchanges_(loop), dead_transactions_(loop),
      context_{loop, settings, counters, ids_, scratch_, tcp_, udp_, dead_exchanges_, nullptr} {}

Forwarder::~Forwarder() { cancel_all(); }

void Forwarder::forward(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set,
                        ForwardDone done, ForwardOptions options) {
  auto order = set.order_for_query(monotonic_ms(), rotation_++);
  auto transaction = std::make_unique<Transaction>(context_, packet, query, set, order, std::move(done),
                                                   std::move(options), [this](Transaction* t) { ended(t); });
  auto* raw = transaction.get();
  live_.emplace(raw, std::move(transaction));
  raw->start();
}

void Forwarder::ended(Transaction* transaction) {
  auto it = live_.find(transaction);
  if (it == live_.end()) return;
  dead_transactions_.bury(std::move(it->second));
  live_.erase(it);
}

void Forwarder::cancel_all() {
  live_.clear();
  tcp_.close_all();
  dead_transactions_.close();
  dead_exchanges_.close();
  udp_.close_all();  // after every exchange that could still name one of its sockets
}

}  // namespace diresolver
