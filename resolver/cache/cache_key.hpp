// The cache key of a query: its name (lower case), type, class, and the bits
// that change the answer: DO and CD (DNSSEC). Nothing else a client sends
// does: cached answers carry no OPT (EDNS is hop by hop: dns/edns.hpp), every
// client gets diresolver's own, and RD=0 queries never reach the cache.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "dns/query.hpp"

namespace diresolver {

struct CacheKey {
  std::string_view name;  // lower-case wire form
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t flags = 0;
  uint64_t hash = 0;
};

namespace key_flag {
constexpr uint8_t cd = 2, do_bit = 4;
}

// The cache recomputes it from a stored entry when it removes one, rather than keep 8 bytes per entry.
inline uint64_t cache_key_hash(std::string_view name, uint16_t qtype, uint16_t qclass, uint8_t flags) {
  uint64_t h = std::hash<std::string_view>{}(name);
  h ^= (uint64_t{qtype} << 24 | uint64_t{qclass} << 8 | flags) * 0x9E3779B97F4A7C15ull;
  // Mixed down and up again: the index's home slot takes the low bits, which the
  // product above leaves untouched by the type, so one name's A and AAAA would
  // share a home and crowd each other's probes; the shard takes the high bits.
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return h ^ (h >> 32);
}

inline CacheKey make_cache_key(const dns::ParsedQuery& q) {
  CacheKey key{q.name(), q.qtype, q.qclass, 0, 0};
  if (q.flags & dns::flag::cd) key.flags |= key_flag::cd;
  if (q.edns.do_bit) key.flags |= key_flag::do_bit;
  key.hash = cache_key_hash(key.name, key.qtype, key.qclass, key.flags);
  return key;
}

}  // namespace diresolver
