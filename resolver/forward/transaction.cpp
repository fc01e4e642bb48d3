#include "forward/transaction.hpp"

#include <algorithm>

namespace diresolver {

namespace {

uint32_t clamp_ms(uint64_t value_ms, uint32_t low, uint32_t high) {
  return static_cast<uint32_t>(std::clamp<uint64_t>(value_ms, low, high));
}

}  // namespace

Transaction::Transaction(ForwardContext& context, Ended ended) : context_(context), ended_(std::move(ended)) {}

Transaction::~Transaction() { clear(); }

void Transaction::clear() {
  stop_attempts();
  attempts_.clear();
  done_ = nullptr;
  options_ = {};  // lets go of the runtime it kept alive
  fallback_answer_.clear();
  set_ = nullptr;
}

void Transaction::start(dns::Bytes packet, const dns::ParsedQuery& query, const UpstreamSet& set, ServerOrder order,
                        ForwardDone done, ForwardOptions options, Instant now) {
  packet_.assign(packet.begin(), packet.end());
  query_ = query;
  set_ = &set;
  order_ = order;
  next_ = 0;
  done_ = std::move(done);
  options_ = std::move(options);
  sunk_ = delivered_ = ended_called_ = false;
  in_flight_ = 0;
  last_error_ = UpstreamError::timeout;
  attempts_.reserve(2 * order_.size());  // each server over UDP, and maybe TCP after TC=1
  context_.timers.deadlines().start(deadline_timer_, context_.settings.deadline_ms, on_deadline, this);
  if (options_.on_slow && options_.slow_after_ms > 0)
    context_.timers.slow().start(slow_timer_, options_.slow_after_ms, on_slow, this);
  move_on(now);
}

uint32_t Transaction::attempt_timeout_ms(const Upstream& server, Instant now) const {
  const auto& s = context_.settings;
  return clamp_ms(4 * server.srtt_us(now.ms()) / 1000 + 20, s.attempt_timeout_min_ms, s.attempt_timeout_ms);
}

void Transaction::arm_hedge(const Upstream& server, Instant now) {
  if (next_ >= order_.size()) return;  // nobody left to hedge to
  const auto& s = context_.settings;
  uint32_t delay = clamp_ms(2 * server.srtt_us(now.ms()) / 1000 + 2, s.hedge_delay_min_ms, s.hedge_delay_max_ms);
  context_.timers.hedges_after(server).start(hedge_timer_, delay, on_hedge, this);
}

bool Transaction::launch_next(bool hedge, Instant now) {
  while (next_ < order_.size()) {
    size_t server = order_[next_++];
    if (launch(server, set_->tcp_only() ? Transport::tcp : Transport::udp, hedge, now)) {
      arm_hedge(set_->server(server), now);
      return true;
    }
  }
  return false;
}

bool Transaction::launch(size_t server_index, Transport transport, bool hedge, Instant now, bool count_hedge) {
  Upstream& server = set_->server(server_index);
  auto& counters = context_.counters.servers[server.id()];
  dns::set_id(packet_, context_.ids.next());
  ExchangeRequest request{context_.loop,      &server,           packet_,       &query_, attempt_timeout_ms(server, now),
                          &context_.counters, &context_.scratch, &context_.ids};
  size_t index = attempts_.size();
  auto done = [this, index](ExchangeResult&& result) { on_result(index, std::move(result)); };
  Exchange* exchange = make_exchange(transport, request, done);
  (transport == Transport::udp ? counters.queries_udp : counters.queries_tcp).inc();
  if (hedge && count_hedge) {
    counters.hedges_sent.inc();
    context_.counters.hedges.inc();
  }
  attempts_.push_back({server_index, transport, hedge, now.ns, exchange});
  if (exchange->start()) {
    ++in_flight_;
    return true;
  }
  context_.counters.upstream_network.inc();
  on_failure(attempts_.back(), UpstreamError::network, now);
  return false;
}

Exchange* Transaction::make_exchange(Transport transport, const ExchangeRequest& request, ExchangeDone done) {
  if (transport == Transport::tcp) {
    tcp_exchanges_.push_back(std::make_unique<TcpExchange>(request, context_.tcp, std::move(done)));
    return tcp_exchanges_.back().get();
  }
  if (udp_exchanges_used_ == udp_exchanges_.size())
    udp_exchanges_.push_back(std::make_unique<PooledUdpExchange>(context_.timers, context_.udp));
  auto* exchange = udp_exchanges_[udp_exchanges_used_++].get();
  exchange->prepare(request, std::move(done));
  return exchange;
}

// Attempts still running stop here, outside their own callbacks; no callback will come.
void Transaction::stop_attempts() {
  for (size_t i = 0; i < udp_exchanges_used_; ++i) udp_exchanges_[i]->abandon();
  udp_exchanges_used_ = 0;
  tcp_exchanges_.clear();
  for (auto& attempt : attempts_) attempt.exchange = nullptr;
}

void Transaction::on_result(size_t index, ExchangeResult&& result) {
  auto now = Instant::now();
  auto& attempt = attempts_[index];
  --in_flight_;
  if (!result.ok) {
    on_failure(attempt, result.error, now);
    move_on(now);
  } else if (attempt.transport == Transport::udp && dns::is_truncated(result.answer)) {
    // Too big for UDP: the same server over TCP, which is no failure of its own.
    // It has answered, so no hedge: the TCP retry carries the attempt's role on.
    context_.counters.tcp_retries.inc();
    hedge_timer_.stop();
    size_t server = attempt.server;
    bool hedge = attempt.hedge;
    if (!delivered_ && !launch(server, Transport::tcp, hedge, now, false)) move_on(now);
  } else {
    on_answer(attempt, result.answer, now);
  }
  end_if_done();
}

void Transaction::on_answer(const Attempt& attempt, std::span<uint8_t> answer, Instant now) {
  auto rcode = dns::rcode_of(answer);
  if (rcode == dns::Rcode::servfail || rcode == dns::Rcode::refused) {
    on_failure(attempt, rcode == dns::Rcode::servfail ? UpstreamError::servfail : UpstreamError::refused, now);
    fallback_answer_.assign(answer.begin(), answer.end());
    return move_on(now);
  }
  Upstream& server = set_->server(attempt.server);
  auto& counters = context_.counters.servers[server.id()];
  auto rtt_us = static_cast<uint32_t>((now.ns - attempt.sent_ns) / 1000);
  counters.answers.inc();
  counters.observe_rtt(rtt_us);
  server.report_success(ResultSource::traffic, rtt_us, now.ms());
  if (!sunk_ && context_.sink) {
    sunk_ = true;
    context_.sink(query_, answer, now.ms(), options_.generation);
  }
  if (delivered_) {
    counters.late_answers.inc();
    context_.counters.late_answers.inc();
    return;
  }
  if (attempt.hedge) counters.hedges_won.inc();
  if (!attempt.hedge && attempt.server != attempts_.front().server) counters.failover_answers.inc();
  deliver({ForwardStatus::answered, answer, UpstreamError::timeout, packet_});
}

void Transaction::on_failure(const Attempt& attempt, UpstreamError error, Instant now) {
  Upstream& server = set_->server(attempt.server);
  context_.counters.servers[server.id()].failures[static_cast<size_t>(error)].inc();
  server.report_failure(ResultSource::traffic, error, now.ms());
  last_error_ = error;
}

// After a failure: ask the next server now, or give up when nobody is left.
void Transaction::move_on(Instant now) {
  if (delivered_) return;
  if (!launch_next(false, now) && in_flight_ == 0) give_up(now);
}

void Transaction::give_up(Instant now) {
  // The last SERVFAIL goes to the cache too (kept only if [cache] servfail_ttl
  // says so), but after the client's turn, which may still want a stale answer.
  // (The client's turn may put its ID into these bytes; the cache sets each reader's own.)
  deliver({ForwardStatus::all_failed, fallback_answer_, last_error_, packet_});
  if (!fallback_answer_.empty() && !sunk_ && context_.sink) {
    sunk_ = true;
    context_.sink(query_, fallback_answer_, now.ms(), options_.generation);
  }
}

void Transaction::deliver(ForwardOutcome&& outcome) {
  delivered_ = true;
  hedge_timer_.stop();
  slow_timer_.stop();
  auto done = std::move(done_);
  if (done) done(std::move(outcome));
}

void Transaction::end_if_done() {
  if (!delivered_ || in_flight_ > 0 || ended_called_) return;
  ended_called_ = true;
  hedge_timer_.stop();
  deadline_timer_.stop();
  slow_timer_.stop();
  ended_(this);
}

void Transaction::on_hedge(void* owner) {
  auto* self = static_cast<Transaction*>(owner);
  if (self->delivered_) return;
  auto now = Instant::now();
  self->launch_next(true, now);
  if (self->in_flight_ == 0) self->give_up(now);
  self->end_if_done();
}

void Transaction::on_slow(void* owner) {
  auto* self = static_cast<Transaction*>(owner);
  if (self->delivered_ || !self->options_.on_slow()) return;
  // The client has its (stale) answer; the attempts go on to refresh the cache.
  self->delivered_ = true;
  self->done_ = nullptr;
  self->hedge_timer_.stop();
}

void Transaction::on_deadline(void* owner) {
  auto* self = static_cast<Transaction*>(owner);
  if (!self->delivered_) self->give_up(Instant::now());
  // Whatever is still in flight is abandoned: the client has its answer.
  self->stop_attempts();
  self->in_flight_ = 0;
  self->end_if_done();
}

}  // namespace diresolver
