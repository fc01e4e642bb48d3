#include "cache/packet_cache.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "cache/hash_index.hpp"

namespace diresolver {

namespace {

uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

// True if the answer's question name is `name` (lower case), any case. An
// entry is found again on removal by the name in its stored answer, so an
// answer for another name must never be stored under this key.
bool asks_for(dns::Bytes answer, std::string_view name) {
  if (answer.size() < dns::header_size + name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (lower(answer[dns::header_size + i]) != static_cast<uint8_t>(name[i])) return false;
  return true;
}

// True if the wire name `name` (lower case) is `zone` or below it.
bool name_under(std::string_view name, std::string_view zone) {
  size_t pos = 0;
  while (pos < name.size()) {
    if (name.size() - pos == zone.size() && name.compare(pos, zone.size(), zone) == 0) return true;
    if (name[pos] == 0) break;
    pos += 1 + static_cast<uint8_t>(name[pos]);
  }
  return false;
}

}  // namespace

struct PacketCache::Entry {
  Entry* lru_prev = nullptr;
  Entry* lru_next = nullptr;
  int64_t stored_ms = 0;
  uint32_t ttl = 0;  // seconds
  uint16_t answer_size = 0;
  uint16_t name_size = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t ttl_count = 0;
  uint8_t flags = 0;
  bool prefetching = false;

  // The offsets and the answer follow the header in the same allocation.
  uint16_t* offsets() { return reinterpret_cast<uint16_t*>(this + 1); }
  uint8_t* answer() { return reinterpret_cast<uint8_t*>(offsets() + ttl_count); }
  // The index's share counts too: at least two 16-byte slots per entry, as it is kept at most half full.
  size_t footprint() const { return sizeof(Entry) + 32 + ttl_count * sizeof(uint16_t) + answer_size; }
  int64_t expires_ms() const { return stored_ms + int64_t{ttl} * 1000; }
  std::string_view name() { return {reinterpret_cast<const char*>(answer() + dns::header_size), name_size}; }
  uint64_t hash() { return cache_key_hash(name(), qtype, qclass, flags); }

  static Entry* create(const CacheKey& key, dns::Bytes answer, const AnswerAnalysis& a, int64_t now_ms) {
    size_t size = sizeof(Entry) + a.ttl_count * sizeof(uint16_t) + answer.size();
    auto* e = new (::operator new(size)) Entry;
    e->stored_ms = now_ms;
    e->ttl = a.ttl;
    e->answer_size = static_cast<uint16_t>(answer.size());
    e->name_size = static_cast<uint16_t>(key.name.size());
    e->qtype = key.qtype;
    e->qclass = key.qclass;
    e->ttl_count = static_cast<uint8_t>(a.ttl_count);
    e->flags = key.flags;
    std::memcpy(e->offsets(), a.ttl_offsets.data(), a.ttl_count * sizeof(uint16_t));
    std::memcpy(e->answer(), answer.data(), answer.size());
    // Stored lower-case so flush and matching compare bytes; hits restore the client's case.
    for (size_t i = 0; i < e->name_size; ++i)
      e->answer()[dns::header_size + i] = lower(e->answer()[dns::header_size + i]);
    return e;
  }
  static void destroy(Entry* e) {
    e->~Entry();
    ::operator delete(e);
  }

  // Worth more than a SERVFAIL: a real answer (positive or negative) still fresh or servable stale.
  bool outranks_servfail(int64_t now_ms, uint32_t stale_max) {
    return dns::rcode_of({answer(), answer_size}) != dns::Rcode::servfail &&
           now_ms <= expires_ms() + int64_t{stale_max} * 1000;
  }

  // The index has already compared the hashes.
  bool matches(const CacheKey& key) {
    return qtype == key.qtype && qclass == key.qclass && flags == key.flags && name() == key.name;
  }
};

struct PacketCache::Shard {
  std::mutex mutex;
  HashIndex<Entry> index;
  Entry* lru_head = nullptr;  // most recently used
  Entry* lru_tail = nullptr;
  size_t bytes = 0;
  uint64_t evictions = 0;
  size_t max_entries = 0;
  size_t max_bytes = 0;

  ~Shard() {
    for (Entry* e = lru_head; e;) {
      Entry* next = e->lru_next;
      Entry::destroy(e);
      e = next;
    }
  }

  size_t count() const { return index.size(); }

  Entry* find(const CacheKey& key) {
    return index.find(key.hash, [&key](Entry& e) { return e.matches(key); });
  }

  void lru_unlink(Entry* e) {
    (e->lru_prev ? e->lru_prev->lru_next : lru_head) = e->lru_next;
    (e->lru_next ? e->lru_next->lru_prev : lru_tail) = e->lru_prev;
    e->lru_prev = e->lru_next = nullptr;
  }

  void lru_push_front(Entry* e) {
    e->lru_next = lru_head;
    if (lru_head) lru_head->lru_prev = e;
    lru_head = e;
    if (!lru_tail) lru_tail = e;
  }

  void touch(Entry* e) {
    if (lru_head == e) return;
    lru_unlink(e);
    lru_push_front(e);
  }

  void remove(Entry* e) { remove(e, e->hash()); }
  void remove(Entry* e, uint64_t hash) {  // when the caller knows the hash: no need to recompute it
    index.erase(hash, e);
    lru_unlink(e);
    bytes -= e->footprint();
    Entry::destroy(e);
  }

  void insert(uint64_t hash, Entry* e) {
    index.insert(hash, e);
    lru_push_front(e);
    bytes += e->footprint();
    while ((count() > max_entries || bytes > max_bytes) && lru_tail && lru_tail != e) {
      remove(lru_tail);
      ++evictions;
    }
  }
};

PacketCache::PacketCache(CacheSettings settings) : settings_(settings) {
  size_t count = std::max(1u, settings_.shards);
  for (size_t i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->max_entries = std::max<uint64_t>(1, settings_.max_entries / count);
    shards_.back()->max_bytes = std::max<uint64_t>(1, settings_.max_bytes / count);
  }
}

PacketCache::~PacketCache() = default;

PacketCache::Shard& PacketCache::shard_for(uint64_t hash) { return *shards_[(hash >> 32) % shards_.size()]; }

CacheStatus PacketCache::peek(const CacheKey& key, int64_t now_ms) {
  auto& shard = shard_for(key.hash);
  std::lock_guard lock(shard.mutex);
  Entry* e = shard.find(key);
  if (!e) return CacheStatus::miss;
  if (now_ms < e->expires_ms()) return CacheStatus::hit;
  return now_ms <= e->expires_ms() + int64_t{settings_.stale_max} * 1000 ? CacheStatus::stale : CacheStatus::miss;
}

CacheLookup PacketCache::lookup(const CacheKey& key, dns::Bytes client_query, const dns::ParsedQuery& query,
                                int64_t now_ms, bool allow_stale, std::vector<uint8_t>& out) {
  CacheLookup result;
  auto& shard = shard_for(key.hash);
  {
    std::lock_guard lock(shard.mutex);
    Entry* e = shard.find(key);
    if (!e) return result;
    bool fresh = now_ms < e->expires_ms();
    if (!fresh && now_ms > e->expires_ms() + int64_t{settings_.stale_max} * 1000) return result;
    if (!fresh && !allow_stale) {
      result.status = CacheStatus::expired;
      return result;
    }
    result.status = fresh ? CacheStatus::hit : CacheStatus::stale;
    out.assign(e->answer(), e->answer() + e->answer_size);
    auto age_s = static_cast<uint32_t>((now_ms - e->stored_ms) / 1000);
    for (size_t i = 0; i < e->ttl_count; ++i) {
      uint8_t* field = out.data() + e->offsets()[i];
      uint32_t ttl = std::min(std::clamp(dns::read_u32(field), settings_.min_ttl, settings_.max_ttl), e->ttl);
      uint32_t served = fresh ? (ttl > age_s ? ttl - age_s : 0) : settings_.stale_ttl;
      field[0] = static_cast<uint8_t>(served >> 24);
      field[1] = static_cast<uint8_t>(served >> 16);
      field[2] = static_cast<uint8_t>(served >> 8);
      field[3] = static_cast<uint8_t>(served);
    }
    int64_t remaining_ms = e->expires_ms() - now_ms;
    if (fresh && !e->prefetching && remaining_ms * 100 < int64_t{e->ttl} * 1000 * settings_.prefetch_percent) {
      e->prefetching = true;
      result.prefetch = true;
    }
    shard.touch(e);
  }
  dns::set_id(out, query.id);
  std::memcpy(out.data() + dns::header_size, client_query.data() + dns::header_size, key.name.size());
  return result;
}

void PacketCache::store(const CacheKey& key, dns::Bytes answer, int64_t now_ms, uint64_t generation) {
  if (!asks_for(answer, key.name)) return;
  auto analysis = analyze_answer(answer, settings_);
  if (!analysis.cacheable) return;
  bool servfail = dns::rcode_of(answer) == dns::Rcode::servfail;
  Entry* fresh = Entry::create(key, answer, analysis, now_ms);
  auto& shard = shard_for(key.hash);
  std::lock_guard lock(shard.mutex);
  // Read under the shard lock, which a reload's flush takes after raising it:
  // a store either lands before the flush or sees the new value.
  if (generation < oldest_storable_.load()) return Entry::destroy(fresh);
  if (Entry* old = shard.find(key)) {
    // RFC 8767: during an outage the expired answer is what serve-stale falls back on.
    if (servfail && old->outranks_servfail(now_ms, settings_.stale_max)) return Entry::destroy(fresh);
    shard.remove(old, key.hash);
  }
  shard.insert(key.hash, fresh);
}

void PacketCache::flush_all() {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    while (shard->lru_head) shard->remove(shard->lru_head);
  }
}

template <class Predicate>
size_t PacketCache::flush_if(Predicate doomed) {
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    for (Entry* e = shard->lru_head; e;) {
      Entry* next = e->lru_next;
      if (doomed(e->name())) {
        shard->remove(e);
        ++removed;
      }
      e = next;
    }
  }
  return removed;
}

size_t PacketCache::flush_name(std::string_view name) {
  return flush_if([name](std::string_view entry) { return entry == name; });
}

size_t PacketCache::flush_zone(std::string_view zone) {
  return flush_if([zone](std::string_view entry) { return name_under(entry, zone); });
}

CacheStats PacketCache::stats() const {
  CacheStats out;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    out.entries += shard->count();
    out.bytes += shard->bytes;
    out.evictions += shard->evictions;
  }
  return out;
}

}  // namespace diresolver
