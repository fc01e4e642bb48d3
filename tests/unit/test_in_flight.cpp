// The pooled socket's in-flight table: every waiting ID is found, and only those.
#include <doctest/doctest.h>

#include <random>
#include <set>
#include <vector>

#include "transport/in_flight_table.hpp"

using diresolver::InFlightTable;

TEST_CASE("a socket's life of queries: each found by ID until detached") {
  InFlightTable<int, 512> table;
  std::mt19937 rng(7);
  std::set<uint16_t> ids;
  while (ids.size() < 256) ids.insert(static_cast<uint16_t>(rng()));
  std::vector<int> values(256);
  size_t n = 0;
  for (auto id : ids) REQUIRE(table.insert(id, &values[n++]));
  CHECK(table.size() == 256);
  n = 0;
  for (auto id : ids) CHECK(table.find(id) == &values[n++]);
  CHECK_FALSE(table.insert(*ids.begin(), &values[0]));  // one query per ID at a time

  size_t erased = 0;
  for (auto id : ids)
    if (erased++ % 2 == 0) table.erase(id);
  CHECK(table.size() == 128);
  n = 0;
  for (auto id : ids) {
    CHECK((n % 2 == 0 ? table.find(id) == nullptr : table.find(id) == &values[n]));
    ++n;
  }
  int visited = 0;
  table.for_each([&](int*) { ++visited; });
  CHECK(visited == 128);
  for (uint16_t id = 0; id < 2000; ++id)
    if (!ids.count(id)) CHECK(table.find(id) == nullptr);
}

TEST_CASE("colliding IDs probe past each other and past removed ones") {
  InFlightTable<int, 8> table;
  int a = 1, b = 2, c = 3;
  REQUIRE(table.insert(3, &a));
  REQUIRE(table.insert(11, &b));  // 11 & 7 == 3: the next slot
  REQUIRE(table.insert(19, &c));
  table.erase(11);
  CHECK(table.find(19) == &c);  // found past the tombstone
  CHECK(table.find(11) == nullptr);
  CHECK(table.insert(11, &b));
  CHECK(table.find(11) == &b);
}

TEST_CASE("the table keeps one slot empty and refuses beyond it") {
  InFlightTable<int, 8> table;
  int v = 0;
  for (uint16_t id = 0; id < 7; ++id) REQUIRE(table.insert(id, &v));
  CHECK_FALSE(table.insert(100, &v));
  CHECK(table.find(100) == nullptr);  // and a lookup still ends
}

TEST_CASE("an ID that waited and left is known as such; one that never waited is not") {
  InFlightTable<int, 8> table;
  int v = 0;
  REQUIRE(table.insert(3, &v));
  REQUIRE(table.insert(11, &v));
  CHECK_FALSE(table.left(3));  // still waiting
  table.erase(3);
  CHECK(table.left(3));
  CHECK_FALSE(table.left(11));
  CHECK_FALSE(table.left(19));  // the same slot chain, never here
}
