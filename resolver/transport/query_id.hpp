// Unpredictable 16-bit query IDs (RFC 5452 §9.2), drawn from OpenSSL's CSPRNG
// in batches so the query path does not call into OpenSSL every time.
// One per worker; not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace diresolver {

class QueryIdSource {
 public:
  uint16_t next();

 private:
  void refill();
  std::array<uint16_t, 256> batch_{};
  std::size_t used_ = batch_.size();
};

}  // namespace diresolver
