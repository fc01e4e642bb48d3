// The cache-hit path allocates nothing: parsing the query, routing it, the
// cache lookup with its copy-out, and keeping the answer for the turn's
// sendmmsg. Counted by the test binary's own operator new (allocation_count.cpp).
#include <doctest/doctest.h>

#include "allocation_count.hpp"
#include "cache/packet_cache.hpp"
#include "dns/edns.hpp"
#include "dns/query.hpp"
#include "net/datagram_batch.hpp"
#include "packets.hpp"
#include "router/router.hpp"

using namespace diresolver;
using test::allocation_count;

TEST_CASE("the allocation counter sees allocations") {
  size_t before = allocation_count();
  auto* probe = new std::vector<int>(100);
  CHECK(allocation_count() - before == 2);  // the vector object and its elements
  delete probe;
}

TEST_CASE("a cache hit allocates nothing: parse, route, look up, finish, keep the answer") {
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
              test::reply_wire(name, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {name + " 300 IN A 192.0.2.1"}), 0);
  std::vector<uint8_t> answer;
  answer.reserve(65536 + 64);  // as the query handler keeps it
  DatagramBatch batch;
  SockAddr client = *SockAddr::parse("127.0.0.1:40000", 53);

  size_t before = allocation_count();
  auto check = dns::check_query(query_wire);
  const Route* route = router.lookup(check.query.name());
  auto found = cache.lookup(make_cache_key(check.query), query_wire, check.query, 1000, false, answer);
  dns::finish_answer(answer, query_wire, check.query);
  bool kept = batch.add(answer, &client);
  size_t during = allocation_count() - before;

  REQUIRE(route != nullptr);
  CHECK(route->kind == RouteKind::di);
  CHECK(found.status == CacheStatus::hit);
  CHECK(kept);
  CHECK(dns::id_of(answer) == 0x4242);
  CHECK(dns::arcount_of(answer) == 1);  // diresolver's OPT, added in the buffer's spare room
  CHECK(during == 0);
}
