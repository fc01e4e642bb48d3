#include "transport/query_id.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace diresolver {

uint16_t QueryIdSource::next() {
  if (used_ == batch_.size()) refill();
  return batch_[used_++];
}

void QueryIdSource::refill() {
  // Failing here means the process has no entropy; guessing IDs would be worse.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(batch_.data()), sizeof batch_) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  used_ = 0;
}

}  // namespace diresolver
