// A cache miss, from forwarding to the client's answer, in one place: what
// goes into the cache (and under which config generation), serve-stale's
// client response timer, and the choice between relaying the upstream's
// answer, serving a stale one, and SERVFAIL with an Extended DNS Error.
//
//   first valid answer  → stored; relayed, unless the client has its answer
//   stale timer (RFC 8767 §5, `stale_after_ms`, only with an expired entry on
//   hand) → the stale answer, while the transaction goes on refreshing the cache
//   every server failed → a stale answer if the cache has one; else the last
//   upstream SERVFAIL/REFUSED; else SERVFAIL with EDE 22 (or 23 after a
//   network error); then that upstream SERVFAIL is stored too, which the cache
//   keeps only with `servfail_ttl` and never over an answer it can still serve
//
// Each miss waits in a slot (its tag for the forwarder) from forward() to the
// transaction's end; slots are reused, so the miss path allocates nothing once
// warm (storing a new cache entry is the cache's one allocation).
#pragma once

#include <memory>
#include <vector>

#include "cache/packet_cache.hpp"
#include "forward/forwarder.hpp"
#include "server/client.hpp"
#include "server/query_log.hpp"
#include "server/responder.hpp"

namespace diresolver {

class MissPath final : private ForwardListener {
 public:
  // `cache` may be null (caching disabled).
  MissPath(Forwarder& forwarder, PacketCache* cache, Responder& responder, WorkerCounters& counters,
           uv::TimeSource time);
  ~MissPath();
  MissPath(const MissPath&) = delete;
  MissPath& operator=(const MissPath&) = delete;
  void use_log_settings(const LogSettings& settings) { log_.use(settings); }

  // A client's query the cache could not answer fresh, forwarded under the
  // config `generation`. `stale_on_hand`: the cache holds an expired answer
  // to serve if the upstreams are slow.
  void forward(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, uint64_t generation, const Client& client,
               bool stale_on_hand, Instant now);
  // Prefetch or stale refresh: nobody waits; the answer lands in the cache.
  void refresh(dns::Bytes packet, const dns::ParsedQuery& query, SetPtr set, uint64_t generation, Instant now);
  // Shutdown, after the forwarder's cancel_all(): lets go of the waiting
  // clients (and their connections) and of the timers.
  void close();
  size_t open_slots() const { return slots_.size() - free_.size(); }

 private:
  struct Miss;
  Miss& open_slot(dns::Bytes packet, const dns::ParsedQuery& query, uint64_t generation, Instant now);
  void on_answer(uint32_t tag, std::span<uint8_t> answer, Instant now) override;
  void on_done(uint32_t tag, ForwardOutcome&& outcome) override;
  static void on_stale_due(void* miss);
  void answer_failure(Miss& miss, const ForwardOutcome& outcome);
  bool serve_stale(Miss& miss, Instant now);
  void relay(Miss& miss, dns::Bytes answer, Instant now);
  void send_answer(Miss& miss, dns::Bytes answer, std::optional<dns::Ede> ede, Instant now);
  void answered(Miss& miss);
  void store(const Miss& miss, dns::Bytes answer, Instant now);

  Forwarder& forwarder_;
  PacketCache* cache_;
  Responder& responder_;
  WorkerCounters& counters_;
  uv::TimeSource time_;
  uv::TimerList stale_timers_;
  std::vector<std::unique_ptr<Miss>> slots_;  // by tag; stable addresses, for their timers
  std::vector<uint32_t> free_;
  std::vector<uint8_t> answer_;          // what a client gets is written here: reused, never reallocated
  std::vector<uint8_t> upstream_query_;  // what the upstreams get, likewise
  QueryLog log_;
};

}  // namespace diresolver
