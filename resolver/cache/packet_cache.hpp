// The packet cache: upstream answers stored once, in wire form, served with
// the client's ID and question case and TTLs aged in place.
//
// Sharded by key hash; each shard has its own mutex, index and LRU list,
// so workers rarely meet. An entry is one allocation (header, answer bytes,
// TTL offsets); a hit copies the answer into the caller's buffer under the
// shard lock and patches it there: no allocation on a hit. Expired entries
// stay until `stale_max` past expiry so they can be served stale (RFC 8767);
// LRU eviction keeps the cache within max_entries and max_bytes. Time comes
// from the caller (milliseconds, any monotonic base) so tests drive it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "cache/answer_analysis.hpp"
#include "cache/cache_key.hpp"

namespace diresolver {

// expired: an entry exists that could be served stale, but the caller did not ask for it.
enum class CacheStatus { miss, hit, stale, expired };

struct CacheLookup {
  CacheStatus status = CacheStatus::miss;
  bool prefetch = false;  // a hit near the end of its life: refresh it in the background (once)
};

struct CacheStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
  uint64_t evictions = 0;
};

class PacketCache {
 public:
  explicit PacketCache(CacheSettings settings);
  ~PacketCache();
  PacketCache(const PacketCache&) = delete;
  PacketCache& operator=(const PacketCache&) = delete;

  // A fresh hit, or (with `allow_stale`) an expired entry within stale_max,
  // copied into `out` with the client's ID and question bytes and aged TTLs;
  // stale answers carry TTL stale_ttl (dns::finish_answer adds EDE 3 for them).
  CacheLookup lookup(const CacheKey& key, dns::Bytes client_query, const dns::ParsedQuery& query, int64_t now_ms,
                     bool allow_stale, std::vector<uint8_t>& out);
  // True if a fresh or stale-servable entry exists (no copy).
  CacheStatus peek(const CacheKey& key, int64_t now_ms);
  // `generation`: of the config the query was forwarded under (see refuse_before).
  void store(const CacheKey& key, dns::Bytes answer, int64_t now_ms, uint64_t generation = UINT64_MAX);
  // A reload: answers forwarded under an older config are not stored from now
  // on, so none lands in what the reload is about to flush.
  void refuse_before(uint64_t generation) { oldest_storable_.store(generation); }

  void flush_all();
  size_t flush_name(std::string_view lower_wire_name);  // every type and flag variant of one name
  size_t flush_zone(std::string_view lower_wire_zone);  // the zone and every name under it
  CacheStats stats() const;
  const CacheSettings& settings() const { return settings_; }

 private:
  struct Entry;
  struct Shard;
  Shard& shard_for(uint64_t hash);
  template <class Predicate>
  size_t flush_if(Predicate doomed);  // removes entries whose name makes `doomed` true

  CacheSettings settings_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> oldest_storable_{0};
};

}  // namespace diresolver
