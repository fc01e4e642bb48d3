// The cache's index: entries by 64-bit hash, open addressing with linear
// probing, each slot holding the hash beside the pointer.
//
// Why not chains: a forwarder's lookups are mostly misses (every miss is
// looked up, then stored), and a chained table waits on memory twice for one,
// for the bucket and then for the entry at its head, just to compare hashes.
// Here a probe compares hashes within the slot array and touches an entry only
// when its hash matches, so a miss waits once; growing moves slots without
// reading a single entry. Kept at most half full, a miss scans about 2.5
// slots on average (Knuth's analysis of linear probing): mostly one cache line.
// Erasure shifts later slots back instead of leaving tombstones, so probes
// never lengthen as entries come and go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace diresolver {

template <class T>
class HashIndex {
 public:
  explicit HashIndex(size_t initial_capacity = 64) : slots_(initial_capacity) {}

  // The item with this hash that `same` accepts, or nullptr.
  template <class Same>
  T* find(uint64_t hash, Same same) const {
    for (size_t i = home(hash);; i = next(i)) {
      const Slot& slot = slots_[i];
      if (!slot.item) return nullptr;
      if (slot.hash == hash && same(*slot.item)) return slot.item;
    }
  }

  void insert(uint64_t hash, T* item) {
    if (2 * (count_ + 1) > slots_.size()) grow();
    place({hash, item});
    ++count_;
  }

  void erase(uint64_t hash, const T* item) {
    size_t hole = home(hash);
    while (slots_[hole].item != item) {
      if (!slots_[hole].item) return;  // not here
      hole = next(hole);
    }
    // Backward shift: each later slot of the run moves into the hole unless its
    // home lies cyclically in (hole, slot], where moving would hide it.
    for (size_t i = next(hole); slots_[i].item; i = next(i)) {
      size_t want = home(slots_[i].hash);
      bool stays = hole < i ? (hole < want && want <= i) : (hole < want || want <= i);
      if (stays) continue;
      slots_[hole] = slots_[i];
      hole = i;
    }
    slots_[hole] = {};
    --count_;
  }

  size_t size() const { return count_; }
  size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t hash = 0;
    T* item = nullptr;  // nullptr: empty
  };

  size_t home(uint64_t hash) const { return hash & (slots_.size() - 1); }
  size_t next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void place(Slot slot) {
    size_t i = home(slot.hash);
    while (slots_[i].item) i = next(i);
    slots_[i] = slot;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& slot : old)
      if (slot.item) place(slot);
  }

  std::vector<Slot> slots_;  // a power of two in size
  size_t count_ = 0;
};

}  // namespace diresolver
