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
  abandon_attempts();
  hedge_timer_.stop();
  deadline_timer_.stop();
  attempts_.clear();
  listener_ = nullptr;
  fallback_answer_.clear();
  set_.reset();  // lets go of the runtime a reload may have replaced
  phase_ = Phase::idle;
}

void Transaction::start(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, ServerOrder order,
                        ForwardListener& listener, uint32_t tag, Instant now) {
  packet_.assign(packet.begin(), packet.end());
  query_ = query;
  set_ = std::move(set);
  order_ = order;
  next_ = 0;
  listener_ = &listener;
  tag_ = tag;
  phase_ = Phase::waiting;
  in_flight_ = 0;
  last_error_ = UpstreamError::timeout;
  tries_used_.fill(0);
  retry_queue_.clear();
  retried_ = 0;
  deadline_grace_ = {};
  // Each server over UDP, and maybe TCP after TC=1, each try.
  attempts_.reserve(2 * order_.size() * context_.settings.tries);
  retry_queue_.reserve(order_.size() * context_.settings.tries);
  context_.clock.deadlines().start(deadline_timer_, context_.settings.deadline_ms, on_deadline, this);
  if (!launch_next(Role::first, now)) end(ForwardStatus::failed, now);
}

// 4 x SRTT + 20 ms, doubled for each earlier try of this server in this query.
uint32_t Transaction::attempt_timeout_ms(size_t server_index, Instant now) const {
  const auto& s = context_.settings;
  uint64_t base = 4 * set_->server(server_index).srtt_us(now.ms()) / 1000 + 20;
  unsigned earlier = tries_used_[server_index] > 1 ? tries_used_[server_index] - 1u : 0u;
  return clamp_ms(std::max<uint64_t>(base, s.attempt_timeout_min_ms) << earlier, s.attempt_timeout_min_ms,
                  s.attempt_timeout_ms);
}

uint32_t Transaction::hedge_delay_ms(const Upstream& server, Instant now) const {
  const auto& s = context_.settings;
  return clamp_ms(2 * server.srtt_us(now.ms()) / 1000 + 2, s.hedge_delay_min_ms, s.hedge_delay_max_ms);
}

void Transaction::arm_hedge(const Upstream& server, Instant now, uint32_t extra_ms) {
  if (!anyone_left()) return;
  context_.clock.hedges_after(server).start(hedge_timer_, hedge_delay_ms(server, now) + extra_ms, on_hedge, this);
}

bool Transaction::anyone_left() const { return next_ < order_.size() || retried_ < retry_queue_.size(); }

// The order's next server; once every server has been asked, those whose
// attempt timed out, again (a datagram may have been lost), in turn.
std::optional<Transaction::Next> Transaction::next_server() {
  if (next_ < order_.size()) return Next{order_[next_++], false};
  if (retried_ < retry_queue_.size()) return Next{retry_queue_[retried_++], true};
  return std::nullopt;
}

// A lost datagram is sent again, to a server still believed up, until it has
// been asked `tries` times (each wait twice the last: attempt_timeout_ms).
void Transaction::queue_retry(size_t server) {
  if (tries_used_[server] < context_.settings.tries && set_->server(server).is_up())
    retry_queue_.push_back(static_cast<uint8_t>(server));
}

// The next server that takes the query; a server that fails at once is
// recorded and passed over, and the next one tried in the same role (but
// after a failure, the first query's role becomes a failover).
bool Transaction::launch_next(Role role, Instant now) {
  while (auto next = next_server()) {
    auto& counters = context_.counters.servers[set_->server(next->server).id()];
    Role this_role = next->again ? Role::retry : role;
    if (this_role == Role::hedge) counters.hedges_sent.inc();
    if (this_role == Role::retry) counters.retries.inc();
    ++tries_used_[next->server];
    if (launch(next->server, set_->tcp_only() ? Transport::tcp : Transport::udp, this_role, now)) {
      arm_hedge(set_->server(next->server), now);
      return true;
    }
    if (role == Role::first) role = Role::failover;
  }
  return false;
}

bool Transaction::launch(size_t server_index, Transport transport, Role role, Instant now) {
  Upstream& server = set_->server(server_index);
  auto& counters = context_.counters.servers[server.id()];
  size_t index = attempts_.size();
  attempts_.push_back({server_index, transport, role, now.ns, 0, std::nullopt, dns::Rcode::noerror, false});
  (transport == Transport::udp ? counters.queries_udp : counters.queries_tcp).inc();
  ExchangeRequest request{&server, packet_, &query_, attempt_timeout_ms(server_index, now)};
  auto done = [this, index](ExchangeResult&& result) { on_result(index, std::move(result)); };
  if (auto refused = unused_exchange(transport).start(request, done)) {
    attempts_.back().done_ns = now.ns;
    attempts_.back().error = *refused;
    record_failure(attempts_.back(), *refused, now);
    return false;
  }
  ++in_flight_;
  if (context_.tap) context_.tap->forwarder_query(server.address(), transport, set_->zone_wire(), packet_, now);
  return true;
}

Exchange& Transaction::unused_exchange(Transport transport) {
  auto& exchanges = exchanges_[index_of(transport)];
  if (exchanges.used == exchanges.kept.size()) exchanges.kept.push_back(context_.exchanges.make(transport));
  return *exchanges.kept[exchanges.used++];
}

// Outside the exchanges' own callbacks: no callback comes after this.
void Transaction::abandon_attempts() {
  for (auto& exchanges : exchanges_) {
    for (size_t i = 0; i < exchanges.used; ++i) exchanges.kept[i]->abandon();
    exchanges.used = 0;
  }
  in_flight_ = 0;
}

void Transaction::on_result(size_t index, ExchangeResult&& result) {
  auto now = context_.clock.now();
  note_result(attempts_[index], result, now);
  if (context_.tap && result.ok()) tap_answer(attempts_[index], result.answer());
  const Attempt attempt = attempts_[index];  // a copy: launching more may reallocate
  --in_flight_;
  if (!result.ok()) {
    record_failure(attempt, result.error(), now);
    if (result.error() == UpstreamError::timeout && phase_ == Phase::waiting) queue_retry(attempt.server);
    move_on(now);
  } else if (attempt.transport == Transport::udp && dns::is_truncated(result.answer())) {
    retry_over_tcp(attempt, now);
  } else if (auto failure = failure_in_answer(dns::rcode_of(result.answer()))) {
    // The server answered: about this query, maybe not about itself (a client
    // must not mark healthy servers down with queries they all refuse). Only
    // when another server answers it does this count (blame_error_answers).
    count_failure(attempt, *failure);
    fallback_answer_.assign(result.answer().begin(), result.answer().end());
    move_on(now);
  } else {
    take_answer(attempt, result.answer(), now);
  }
  end_if_quiet(now);
}

void Transaction::note_result(Attempt& attempt, const ExchangeResult& result, Instant now) {
  attempt.done_ns = now.ns;
  if (!result.ok()) {
    attempt.error = result.error();
    return;
  }
  attempt.rcode = dns::rcode_of(result.answer());
  attempt.truncated = dns::is_truncated(result.answer());
}

void Transaction::tap_answer(const Attempt& attempt, std::span<const uint8_t> answer) {
  context_.tap->forwarder_response(set_->server(attempt.server).address(), attempt.transport, set_->zone_wire(),
                                   answer, Instant{attempt.sent_ns});
}

// Too big for UDP: the same server over TCP, which is no failure of its own;
// the TCP attempt carries the UDP one's role on. It gets a hedge of its own,
// one round trip later for the handshake: a server whose TCP a firewall broke
// must cost a client a hedge delay, not an attempt timeout.
void Transaction::retry_over_tcp(const Attempt& attempt, Instant now) {
  context_.counters.tcp_retries.inc();
  hedge_timer_.stop();
  if (phase_ != Phase::waiting) return;
  if (!launch(attempt.server, Transport::tcp, attempt.role, now)) return move_on(now);
  const Upstream& server = set_->server(attempt.server);
  arm_hedge(server, now, server.srtt_us(now.ms()) / 1000);
}

void Transaction::take_answer(const Attempt& attempt, std::span<uint8_t> answer, Instant now) {
  Upstream& server = set_->server(attempt.server);
  auto& counters = context_.counters.servers[server.id()];
  auto rtt_us = static_cast<uint32_t>((now.ns - attempt.sent_ns) / 1000);
  counters.answers.inc();
  counters.observe_rtt(rtt_us);
  server.report_success(ResultSource::traffic, rtt_us, now.ms());
  switch (phase_) {
    case Phase::waiting:
      if (attempt.role == Role::hedge) counters.hedges_won.inc();
      if (attempt.role == Role::failover) counters.failover_answers.inc();
      break;
    case Phase::refreshing:  // too late for the client, who has a stale answer; in time for the cache
      counters.late_answers.inc();
      break;
    default:  // after another server's answer
      return counters.late_answers.inc();
  }
  blame_error_answers(attempt, now);
  phase_ = Phase::answered;
  hedge_timer_.stop();
  listener_->on_answer(tag_, answer, now);
}

// A server that answered SERVFAIL or REFUSED to a query another server of its
// set answered is failing at its job, not at this name: its health hears of
// it, so a DI server whose backend broke is marked down by traffic within a
// few queries. A name that every server fails never gets here, so a client
// cannot mark a server down by asking for a broken name.
void Transaction::blame_error_answers(const Attempt& answered, Instant now) {
  for (const auto& attempt : attempts_) {
    if (attempt.server == answered.server || !attempt.done_ns || attempt.error) continue;
    if (auto failure = failure_in_answer(attempt.rcode))
      set_->server(attempt.server).report_failure(ResultSource::traffic, *failure, now.ms());
  }
}

void Transaction::client_answered() {
  if (phase_ != Phase::waiting) return;
  phase_ = Phase::refreshing;
  hedge_timer_.stop();
}

void Transaction::count_failure(const Attempt& attempt, UpstreamError error) {
  context_.counters.servers[set_->server(attempt.server).id()].failures[index_of(error)].inc();
  last_error_ = error;
}

// Silence, a network error or garbage: the server's health hears of it, and
// of silence its RTT too (it is at least as long as we waited).
void Transaction::record_failure(const Attempt& attempt, UpstreamError error, Instant now) {
  count_failure(attempt, error);
  Upstream& server = set_->server(attempt.server);
  if (error == UpstreamError::timeout) server.note_timeout(static_cast<uint32_t>((now.ns - attempt.sent_ns) / 1000), now.ms());
  server.report_failure(ResultSource::traffic, error, now.ms());
}

// After a failure: ask the next server now; with nobody left and nothing in flight, the end.
void Transaction::move_on(Instant now) {
  if (phase_ != Phase::waiting) return;
  if (!launch_next(Role::failover, now) && in_flight_ == 0) end(ForwardStatus::failed, now);
}

// Nothing left in flight after the client was answered (by us or elsewhere).
void Transaction::end_if_quiet(Instant now) {
  if (in_flight_ > 0) return;
  if (phase_ == Phase::answered) end(ForwardStatus::answered, now);
  if (phase_ == Phase::refreshing) end(ForwardStatus::failed, now);
}

void Transaction::end(ForwardStatus status, Instant now) {
  phase_ = Phase::ended;
  hedge_timer_.stop();
  deadline_timer_.stop();
  ForwardOutcome outcome{status, last_error_, {}, packet_, now, this};
  if (status == ForwardStatus::failed) outcome.fallback = fallback_answer_;
  try {
    listener_->on_done(tag_, std::move(outcome));
  } catch (...) {
    ended_(this);  // stopped at the loop boundary: the forwarder must still get this one back
    throw;
  }
  ended_(this);
}

void Transaction::on_hedge(void* owner) {
  auto* self = static_cast<Transaction*>(owner);
  if (self->phase_ != Phase::waiting) return;
  auto now = self->context_.clock.now();
  if (!self->launch_next(Role::hedge, now) && self->in_flight_ == 0) self->end(ForwardStatus::failed, now);
}

// The client's time is up: whatever is still in flight is abandoned.
void Transaction::on_deadline(void* owner) {
  auto* self = static_cast<Transaction*>(owner);
  auto& deadlines = self->context_.clock.deadlines();
  if (self->deadline_grace_.wait_once_more(deadlines, self->deadline_timer_, on_deadline, self, self->context_.counters))
    return;
  self->abandon_attempts();
  bool answered = self->phase_ == Phase::answered;
  self->end(answered ? ForwardStatus::answered : ForwardStatus::failed, self->context_.clock.now());
}

}  // namespace diresolver
