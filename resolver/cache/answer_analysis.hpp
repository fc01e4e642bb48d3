// What the cache may keep of an upstream answer, and for how long.
//
// analyze_answer() walks the answer once: it finds every record's TTL field
// (so a hit can age TTLs in place without parsing again), the OPT record,
// and the cache lifetime: the smallest TTL of the answer and authority
// sections for positive answers, min(SOA TTL, SOA MINIMUM) for NXDOMAIN and
// NODATA (RFC 2308 §5; without an SOA, not cached), clamped by the settings.
// Truncated answers, REFUSED, FORMERR and the like are never cached; SERVFAIL
// only when `servfail_ttl` is set (RFC 2308 §7.1 allows up to five minutes).
#pragma once

#include <array>
#include <cstdint>

#include "dns/wire.hpp"

namespace diresolver {

struct CacheSettings {
  bool enabled = true;
  uint64_t max_entries = 200'000;
  uint64_t max_bytes = 64ull << 20;
  uint32_t min_ttl = 0;
  uint32_t max_ttl = 86'400;
  uint32_t max_negative_ttl = 3'600;
  uint32_t servfail_ttl = 0;
  // RFC 8767: serve expired answers for up to a day, with TTL 30, when the
  // upstreams cannot answer; a DI outage should not take a site's phones down.
  uint32_t stale_ttl = 30;
  uint32_t stale_max = 86'400;
  // Serve stale when no fresh answer came within this (RFC 8767's client
  // response timer, 1.8 s there; ours is below the 1.5 s query deadline).
  uint32_t stale_after_ms = 1'000;
  // Refresh an entry in the background when it is hit with less than this
  // share of its lifetime left.
  unsigned prefetch_percent = 10;
  // Shards, each with its own lock: enough that workers rarely meet.
  unsigned shards = 32;
};

// Where the TTL fields are; at most this many records are tracked (bigger answers are not cached).
inline constexpr size_t max_cached_records = 64;

struct AnswerAnalysis {
  bool cacheable = false;
  bool negative = false;
  uint32_t ttl = 0;  // cache lifetime, seconds, already clamped
  std::array<uint16_t, max_cached_records> ttl_offsets{};
  size_t ttl_count = 0;
  uint16_t opt_offset = 0;  // offset of the OPT record's owner byte; 0: none
  bool opt_is_last = false;
};

AnswerAnalysis analyze_answer(dns::Bytes answer, const CacheSettings& settings);

}  // namespace diresolver
