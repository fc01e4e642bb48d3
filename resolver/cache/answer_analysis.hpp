// What the cache may keep of an upstream answer, and for how long.
//
// analyze_answer() walks the answer once: it finds every record's TTL field
// (so a hit can age TTLs in place without parsing again) and the cache
// lifetime: the smallest TTL of the answer and authority
// sections for positive answers, min(SOA TTL, SOA MINIMUM) for NXDOMAIN and
// NODATA (RFC 2308 §5; without an SOA, not cached), clamped by the settings.
// Truncated answers, REFUSED, FORMERR and the like are never cached; SERVFAIL
// only when `servfail_ttl` is set (RFC 2308 §7.1 allows up to five minutes).
// Nor is an answer that still holds an OPT record: the transport strips the
// upstream's, and one kept here would go to every client; nor one with a
// compression pointer that does not land on a name (it could point into a
// TTL field the cache rewrites).
#pragma once

#include <array>
#include <cstdint>

#include "config/config.hpp"
#include "dns/wire.hpp"

namespace diresolver {

// Where the TTL fields are; at most this many records are tracked (bigger answers are not cached).
inline constexpr size_t max_cached_records = 64;

struct AnswerAnalysis {
  bool cacheable = false;
  bool negative = false;
  uint32_t ttl = 0;  // cache lifetime, seconds, already clamped
  std::array<uint16_t, max_cached_records> ttl_offsets{};
  size_t ttl_count = 0;
};

AnswerAnalysis analyze_answer(dns::Bytes answer, const CacheSettings& settings);

}  // namespace diresolver
