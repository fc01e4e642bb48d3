#include "server/miss_path.hpp"

#include "dns/edns.hpp"
#include "dns/response.hpp"

namespace diresolver {

struct MissPath::Miss {
  enum class State { client_waiting, client_answered, refresh };  // refresh: nobody asked

  MissPath* owner = nullptr;
  uint32_t tag = 0;
  bool open = false;                   // from forward() or refresh() to the transaction's end
  Transaction* transaction = nullptr;  // while open
  State state = State::refresh;
  Client client;
  dns::ParsedQuery query;
  Instant started;
  uint64_t generation = 0;
  std::vector<uint8_t> packet;  // the client's query: its question's case, its header for our replies
  uv::ListTimer stale_timer;
};

MissPath::MissPath(Forwarder& forwarder, PacketCache* cache, Responder& responder, WorkerCounters& counters,
                   uv::TimeSource time)
    : forwarder_(forwarder),
      cache_(cache),
      responder_(responder),
      counters_(counters),
      time_(time),
      stale_timers_(time) {
  answer_.reserve(65536 + 64);  // an answer and diresolver's OPT
  upstream_query_.reserve(512);
}

MissPath::~MissPath() { close(); }

MissPath::Miss& MissPath::open_slot(dns::Bytes packet, const dns::ParsedQuery& query, uint64_t generation,
                                     Instant now) {
  if (free_.empty()) {
    free_.push_back(static_cast<uint32_t>(slots_.size()));
    slots_.push_back(std::make_unique<Miss>());
  }
  auto tag = free_.back();
  free_.pop_back();
  auto& miss = *slots_[tag];
  miss.owner = this;
  miss.tag = tag;
  miss.open = true;
  miss.transaction = nullptr;
  miss.query = query;
  miss.started = now;  // the query's arrival: no second clock read on the miss path
  miss.generation = generation;
  miss.packet.assign(packet.begin(), packet.end());
  return miss;
}

void MissPath::forward(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, uint64_t generation,
                       const Client& client, bool stale_on_hand, Instant now) {
  auto& miss = open_slot(packet, query, generation, now);
  miss.state = Miss::State::client_waiting;
  miss.client = client;
  auto stale_after_ms = cache_ ? cache_->settings().stale_after_ms : 0;
  if (stale_on_hand && stale_after_ms > 0) stale_timers_.start(miss.stale_timer, stale_after_ms, on_stale_due, &miss);
  dns::write_upstream_query(packet, query, upstream_query_);
  auto& transaction = forwarder_.forward(upstream_query_, query, std::move(set), *this, miss.tag, now);
  if (miss.open) miss.transaction = &transaction;  // it may have ended at once, every server unreachable
}

void MissPath::refresh(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, uint64_t generation, Instant now) {
  counters_.cache_prefetches.inc();
  auto& miss = open_slot(packet, query, generation, now);
  miss.state = Miss::State::refresh;
  dns::write_upstream_query(packet, query, upstream_query_);
  forwarder_.forward(upstream_query_, query, std::move(set), *this, miss.tag, now);
}

void MissPath::on_answer(uint32_t tag, std::span<uint8_t> answer, Instant now) {
  auto& miss = *slots_[tag];
  store(miss, answer, now);  // first: relaying puts the client's ID into these bytes
  if (miss.state == Miss::State::client_waiting) relay(miss, answer, now);
}

void MissPath::on_done(uint32_t tag, ForwardOutcome&& outcome) {
  auto& miss = *slots_[tag];
  miss.transaction = outcome.transaction;  // when it ended at once, forward() has not stored it yet
  if (outcome.status == ForwardStatus::failed) {
    if (miss.state == Miss::State::client_waiting) answer_failure(miss, outcome);
    // After the client's turn, which may still have wanted the stale answer this could replace.
    if (!outcome.fallback.empty()) store(miss, outcome.fallback, outcome.now);
  }
  miss.stale_timer.stop();
  miss.client = {};
  miss.open = false;
  miss.transaction = nullptr;
  free_.push_back(tag);
}

// Serve-stale's client response timer: the upstreams are slow, and the cache
// has an expired answer. The transaction's attempts in flight go on and
// refresh the cache, but it tries no other server for a client who has an answer.
void MissPath::on_stale_due(void* pointer) {
  auto& miss = *static_cast<Miss*>(pointer);
  if (miss.state != Miss::State::client_waiting) return;
  if (miss.owner->serve_stale(miss, miss.owner->time_.now()) && miss.transaction) miss.transaction->client_answered();
}

void MissPath::answer_failure(Miss& miss, const ForwardOutcome& outcome) {
  // RFC 8767: when the upstreams cannot answer, an expired answer beats none.
  if (serve_stale(miss, outcome.now)) return;
  if (!outcome.fallback.empty()) return relay(miss, outcome.fallback, outcome.now);  // what the servers said
  counters_.servfail.inc();
  // RFC 8914: 22 when nobody answered in time, 23 when the network said no.
  auto ede = outcome.last_error == UpstreamError::network ? dns::Ede::network_error : dns::Ede::no_reachable_authority;
  send_answer(miss, dns::make_reply(miss.packet, miss.query, {dns::Rcode::servfail, ede}), ede, outcome.now);
}

bool MissPath::serve_stale(Miss& miss, Instant now) {
  if (!cache_) return false;
  auto found = cache_->lookup(make_cache_key(miss.query), miss.packet, miss.query, now.ms(), true, answer_);
  if (found.status != CacheStatus::stale && found.status != CacheStatus::hit) return false;
  bool stale = found.status == CacheStatus::stale;
  (stale ? counters_.cache_stale_served : counters_.cache_hits).inc();
  auto ede = stale ? std::optional(dns::Ede::stale_answer) : std::nullopt;
  dns::finish_answer(answer_, miss.packet, miss.query, ede);
  send_answer(miss, answer_, ede, now);
  return true;
}

void MissPath::relay(Miss& miss, dns::Bytes answer, Instant now) {
  counters_.answered.inc();
  answer_.assign(answer.begin(), answer.end());
  dns::finish_answer(answer_, miss.packet, miss.query);
  send_answer(miss, answer_, std::nullopt, now);
}

void MissPath::send_answer(Miss& miss, dns::Bytes answer, std::optional<dns::Ede> ede, Instant now) {
  log_.answered({miss.client.address, miss.query, answer, ede, miss.transaction, miss.started, now});
  responder_.send(miss.client, miss.query, answer);
  answered(miss);
}

// The client has its answer: its connection is let go now, not when the transaction ends.
void MissPath::answered(Miss& miss) {
  miss.state = Miss::State::client_answered;
  miss.client = {};
  miss.stale_timer.stop();
}

// Answers to queries forwarded under a config a reload has replaced are
// refused by the cache (PacketCache::refuse_before), under the same lock as
// the reload's flush.
void MissPath::store(const Miss& miss, dns::Bytes answer, Instant now) {
  if (cache_) cache_->store(make_cache_key(miss.query), answer, now.ms(), miss.generation);
}

void MissPath::close() {
  for (auto& miss : slots_) miss->stale_timer.stop();
  slots_.clear();
  free_.clear();
  stale_timers_.close();
}

}  // namespace diresolver
