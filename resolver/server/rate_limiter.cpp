#include "server/rate_limiter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <functional>

namespace diresolver {

RateLimiter::RateLimiter(const RateLimitSettings& settings)
    : settings_(settings),
      capacity_(settings.burst ? settings.burst : settings.qps),
      per_shard_(std::max<size_t>(1, settings.max_clients / shard_count)) {}

RateLimiter::Verdict RateLimiter::admit(const sockaddr* client, int64_t now_ns) {
  auto prefix = prefix_of(client);
  auto& shard = shards_[std::hash<std::string>{}(prefix) % shard_count];
  std::lock_guard lock(shard.mutex);
  auto found = shard.buckets.find(prefix);
  if (found == shard.buckets.end()) {
    if (shard.buckets.size() >= per_shard_ && !make_room(shard, now_ns)) return Verdict::untracked;
    found = shard.buckets.emplace(std::move(prefix), Bucket{capacity_, now_ns}).first;
  }
  auto& bucket = found->second;
  refill(bucket, now_ns);
  if (bucket.tokens < 1) return Verdict::limited;
  bucket.tokens -= 1;
  return Verdict::pass;
}

void RateLimiter::refill(Bucket& bucket, int64_t now_ns) const {
  if (now_ns <= bucket.refilled_ns) return;
  double earned = static_cast<double>(now_ns - bucket.refilled_ns) * 1e-9 * settings_.qps;
  bucket.tokens = std::min(capacity_, bucket.tokens + earned);
  bucket.refilled_ns = now_ns;
}

// A full bucket is what a new client would get: forgetting it changes nothing.
bool RateLimiter::make_room(Shard& shard, int64_t now_ns) const {
  std::erase_if(shard.buckets, [&](const auto& entry) {
    Bucket bucket = entry.second;
    refill(bucket, now_ns);
    return bucket.tokens >= capacity_;
  });
  return shard.buckets.size() < per_shard_;
}

std::string RateLimiter::prefix_of(const sockaddr* client) const {
  const uint8_t* bytes = nullptr;
  size_t size = 0;
  unsigned bits = 0;
  if (client->sa_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(client)->sin_addr);
    size = 4;
    bits = settings_.ipv4_prefix;
  } else if (client->sa_family == AF_INET6) {
    bytes = reinterpret_cast<const sockaddr_in6*>(client)->sin6_addr.s6_addr;
    size = 16;
    bits = settings_.ipv6_prefix;
  }
  std::string key(1 + size, '\0');
  key[0] = static_cast<char>(client->sa_family);
  for (size_t i = 0; i < size; ++i) {
    unsigned kept = std::min(8u, bits > 8 * i ? bits - 8 * static_cast<unsigned>(i) : 0u);
    key[1 + i] = static_cast<char>(bytes[i] & static_cast<uint8_t>(0xff00 >> kept));
  }
  return key;
}

}  // namespace diresolver
