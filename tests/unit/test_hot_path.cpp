// The cache-hit path allocates nothing: parsing the query, routing it, the
// cache lookup with its copy-out, and keeping the answer for the turn's
// sendmmsg. Counted by replacing the global operator new in this test binary.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "cache/packet_cache.hpp"
#include "dns/query.hpp"
#include "net/datagram_batch.hpp"
#include "packets.hpp"
#include "router/router.hpp"

// These replacements are the allocator here: new is malloc and delete is free,
// which GCC's -Wmismatched-new-delete cannot know.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
thread_local size_t allocations = 0;
}

// Every replaceable form, all on malloc/free, so AddressSanitizer sees matching pairs.
void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

using namespace diresolver;

TEST_CASE("the allocation counter sees allocations") {
  size_t before = allocations;
  auto* probe = new std::vector<int>(100);
  CHECK(allocations - before == 2);  // the vector object and its elements
  delete probe;
}

TEST_CASE("a cache hit allocates nothing: parse, route, look up, keep the answer") {
  const std::string name = "sbc1.acme.amer.wxc-di.webex.com.";
  Router router({{"acme.amer.wxc-di.webex.com.", RouteKind::di, "amer", {}, {}},
                 {"webex.com.", RouteKind::forward, "", {}, {}},
                 {".", RouteKind::fallback, "", {}, {}}},
                {0, 1, 2});
  PacketCache cache({});
  auto query_wire = test::query_wire(name, LDNS_RR_TYPE_A, 0x4242, 1232);
  auto first = dns::check_query(query_wire);
  REQUIRE(first.verdict == dns::QueryVerdict::ok);
  cache.store(make_cache_key(first.query),
              test::reply_wire(name, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {name + " 300 IN A 192.0.2.1"}, {}, 1232),
              0);
  std::vector<uint8_t> answer;
  answer.reserve(65536 + 64);  // as the query handler keeps it
  DatagramBatch batch;
  SockAddr client = *SockAddr::parse("127.0.0.1:40000", 53);

  size_t before = allocations;
  auto check = dns::check_query(query_wire);
  const Route* route = router.lookup(check.query.name());
  auto found = cache.lookup(make_cache_key(check.query), query_wire, check.query, 1000, false, answer);
  bool kept = batch.add(answer, &client);
  size_t during = allocations - before;

  REQUIRE(route != nullptr);
  CHECK(route->kind == RouteKind::di);
  CHECK(found.status == CacheStatus::hit);
  CHECK(kept);
  CHECK(dns::id_of(answer) == 0x4242);
  CHECK(during == 0);
}
