// Client query rate, per address prefix, as token buckets ([ratelimit]).
//
// One table for the whole process: the kernel spreads one client's queries
// over the workers by source port, so per-worker buckets would let it through
// `workers` times over. The table is sharded by prefix, each shard under its
// own lock (held for a lookup and a refill, nothing more), and bounded: when a
// shard is full, buckets that have refilled (idle clients, the same as new
// ones) are forgotten; if none has, the newcomer goes unlimited and is counted.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/config.hpp"

namespace diresolver {

class RateLimiter {
 public:
  enum class Verdict { pass, limited, untracked };

  explicit RateLimiter(const RateLimitSettings& settings);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  Verdict admit(const sockaddr* client, int64_t now_ns);
  const RateLimitSettings& settings() const { return settings_; }

 private:
  static constexpr size_t shard_count = 64;
  struct Bucket {
    double tokens;
    int64_t refilled_ns;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;  // by prefix_of()
  };

  std::string prefix_of(const sockaddr* client) const;  // family byte, then the masked address
  void refill(Bucket& bucket, int64_t now_ns) const;
  bool make_room(Shard& shard, int64_t now_ns) const;

  RateLimitSettings settings_;
  double capacity_;
  size_t per_shard_;
  std::array<Shard, shard_count> shards_;
};

}  // namespace diresolver
