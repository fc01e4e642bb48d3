// The queries waiting on one pooled upstream socket, found by DNS ID.
//
// A fixed open-addressing table, so attaching and detaching a query allocates
// nothing. A socket takes at most Capacity / 2 queries in its whole life (the
// pool retires it after UdpSocketPool::uses_per_socket), so the table never
// fills past half and a removed entry can simply stay a tombstone. IDs come
// from the random ID source, so their low bits spread evenly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace diresolver {

template <class T, size_t Capacity>
class InFlightTable {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "a power of two");

 public:
  // false if `id` is already waiting or no room is left.
  bool insert(uint16_t id, T* value) {
    if (filled_ + 1 >= Capacity || find(id)) return false;
    size_t i = id & mask;
    while (slots_[i].state != State::empty) i = (i + 1) & mask;
    slots_[i] = {id, State::used, value};
    ++filled_;
    ++size_;
    return true;
  }
  T* find(uint16_t id) const {
    const Slot* slot = locate(id);
    return slot ? slot->value : nullptr;
  }
  void erase(uint16_t id) {
    if (auto* slot = const_cast<Slot*>(locate(id))) {
      *slot = {id, State::removed, nullptr};
      --size_;
    }
  }
  size_t size() const { return size_; }
  // Whether `id` waited here and has left: its tombstone stays for the table's life.
  bool left(uint16_t id) const {
    for (size_t i = id & mask; slots_[i].state != State::empty; i = (i + 1) & mask)
      if (slots_[i].state == State::removed && slots_[i].id == id) return true;
    return false;
  }
  template <class Visit>
  void for_each(Visit visit) const {
    for (const auto& slot : slots_)
      if (slot.state == State::used) visit(slot.value);
  }

 private:
  static constexpr size_t mask = Capacity - 1;
  enum class State : uint8_t { empty, used, removed };
  struct Slot {
    uint16_t id = 0;
    State state = State::empty;
    T* value = nullptr;
  };

  const Slot* locate(uint16_t id) const {
    // Ends at an empty slot: there is always one, as insert keeps one free.
    for (size_t i = id & mask; slots_[i].state != State::empty; i = (i + 1) & mask)
      if (slots_[i].state == State::used && slots_[i].id == id) return &slots_[i];
    return nullptr;
  }

  std::array<Slot, Capacity> slots_{};
  size_t filled_ = 0;  // used or removed
  size_t size_ = 0;    // used
};

}  // namespace diresolver
