// The cache's open-addressed index: every item stays findable through growth
// and erasure, including runs that wrap past the table's end and items whose
// hashes share a home slot.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "cache/hash_index.hpp"

using diresolver::HashIndex;

namespace {

struct Item {
  int key;
};

// Checks every live item is found under its hash and every erased one is not.
void check_against(const HashIndex<Item>& index, const std::map<int, uint64_t>& live, std::vector<Item>& items) {
  CHECK(index.size() == live.size());
  for (auto& item : items) {
    auto it = live.find(item.key);
    uint64_t hash = it != live.end() ? it->second : static_cast<uint64_t>(item.key % 7);
    Item* found = index.find(hash, [&](const Item& other) { return other.key == item.key; });
    if (it != live.end())
      CHECK(found == &item);
    else
      CHECK(found == nullptr);
  }
}

}  // namespace

TEST_CASE("items crowded onto few home slots survive growth and erasure in any order") {
  HashIndex<Item> index(8);
  std::vector<Item> items(300);
  std::map<int, uint64_t> live;
  std::mt19937 rng(11);
  for (int i = 0; i < 300; ++i) {
    items[i].key = i;
    // Few distinct hashes, some whose home is the table's last slot: long runs that wrap.
    uint64_t hash = (rng() % 4 == 0) ? ~uint64_t{0} - (i % 3) : static_cast<uint64_t>(i % 7);
    index.insert(hash, &items[i]);
    live[i] = hash;
  }
  CHECK(index.capacity() >= 2 * index.size());
  check_against(index, live, items);

  for (int round = 0; round < 3; ++round) {
    std::vector<int> keys;
    for (auto& [key, hash] : live) keys.push_back(key);
    std::shuffle(keys.begin(), keys.end(), rng);
    for (size_t i = 0; i < keys.size() / 2; ++i) {
      index.erase(live[keys[i]], &items[keys[i]]);
      live.erase(keys[i]);
    }
    check_against(index, live, items);
  }
  for (auto& [key, hash] : live) index.erase(hash, &items[key]);
  CHECK(index.size() == 0);
}

TEST_CASE("erasing an item that is not there changes nothing") {
  HashIndex<Item> index;
  Item a{1}, b{2};
  index.insert(5, &a);
  index.erase(5, &b);
  index.erase(6, &a);
  CHECK(index.size() == 1);
  CHECK(index.find(5, [](const Item& item) { return item.key == 1; }) == &a);
}
