// The clients waiting for a forwarded answer, each with its parsed query.
//
// The forwarder's callback names its client by slot, so the callback's
// capture stays small enough for std::function to keep inline: a cache miss
// allocates nothing for it. Slots are reused; the table only grows to the
// largest number of queries a worker has had in flight at once.
#pragma once

#include <cstdint>
#include <vector>

#include "dns/query.hpp"
#include "server/client.hpp"

namespace diresolver {

class PendingClients {
 public:
  struct Waiting {
    Client client;
    dns::ParsedQuery query;
  };

  uint32_t add(const Client& client, const dns::ParsedQuery& query) {
    if (free_.empty()) {
      slots_.push_back({client, query});
      return static_cast<uint32_t>(slots_.size() - 1);
    }
    uint32_t slot = free_.back();
    free_.pop_back();
    slots_[slot] = {client, query};
    return slot;
  }
  const Waiting& at(uint32_t slot) const { return slots_[slot]; }
  // The client has been answered: its slot (and its TCP connection) is let go.
  Waiting take(uint32_t slot) {
    Waiting waiting = std::move(slots_[slot]);
    slots_[slot].client = {};
    free_.push_back(slot);
    return waiting;
  }
  size_t waiting() const { return slots_.size() - free_.size(); }
  // Shutdown, once the forwarder has dropped its callbacks.
  void clear() {
    slots_.clear();
    free_.clear();
  }

 private:
  std::vector<Waiting> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace diresolver
