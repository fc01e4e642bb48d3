// The packet cache, driven by an injected clock (milliseconds): what is kept
// and for how long (RFC 2308 arithmetic included), TTL aging, serve-stale,
// prefetch, LRU bounds, flushes, and a multi-threaded hammer (run under ASan).
#include <doctest/doctest.h>

#include <cstring>
#include <thread>

#include "cache/packet_cache.hpp"
#include "dns/response.hpp"
#include "packets.hpp"

using namespace diresolver;

namespace {

struct Query {
  std::vector<uint8_t> wire;
  dns::ParsedQuery parsed;
  // Computed on use: a key views the parsed name, so it must not outlive a copy of it.
  CacheKey key() const { return make_cache_key(parsed); }
};

Query make(const std::string& name, ldns_rr_type type = LDNS_RR_TYPE_A, uint16_t id = 0x1111, int edns = 0,
           bool do_bit = false) {
  Query q;
  q.wire = test::query_wire(name, type, id, edns, do_bit);
  auto check = dns::check_query(q.wire);
  REQUIRE(check.verdict == dns::QueryVerdict::ok);
  q.parsed = check.query;
  return q;
}

using test::reply_wire;

CacheSettings one_shard(uint64_t max_entries) {
  CacheSettings s;
  s.shards = 1;
  s.max_entries = max_entries;
  return s;
}

const std::string soa = "example. 3600 IN SOA ns.example. admin.example. 1 7200 900 1209600 ";

std::vector<uint32_t> ttls_of(const std::vector<uint8_t>& wire) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  std::vector<uint32_t> out;
  for (auto* list : {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt)})
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) out.push_back(ldns_rr_ttl(ldns_rr_list_rr(list, i)));
  ldns_pkt_free(pkt);
  return out;
}

}  // namespace

TEST_CASE("positive answers live for the smallest answer/authority TTL, clamped") {
  CacheSettings s;
  auto a = reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                      {"www.example. 300 IN A 192.0.2.1", "www.example. 120 IN A 192.0.2.2"},
                      {"example. 600 IN NS ns.example."});
  auto r = analyze_answer(a, s);
  CHECK(r.cacheable);
  CHECK_FALSE(r.negative);
  CHECK(r.ttl == 120);
  CHECK(r.ttl_count == 3);
  s.min_ttl = 200;
  CHECK(analyze_answer(a, s).ttl == 200);
  s.min_ttl = 0;
  s.max_ttl = 60;
  CHECK(analyze_answer(a, s).ttl == 60);
}

TEST_CASE("RFC 2308: negative answers live for min(SOA TTL, SOA MINIMUM), capped") {
  CacheSettings s;
  auto nx = reply_wire("nope.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, {}, {soa + "300"});
  auto r = analyze_answer(nx, s);
  CHECK(r.cacheable);
  CHECK(r.negative);
  CHECK(r.ttl == 300);  // MINIMUM 300 < SOA TTL 3600
  auto nodata = reply_wire("www.example.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, {},
                           {"example. 60 IN SOA ns.example. admin.example. 1 7200 900 1209600 900"});
  CHECK(analyze_answer(nodata, s).ttl == 60);  // SOA TTL 60 < MINIMUM 900
  s.max_negative_ttl = 30;
  CHECK(analyze_answer(nx, s).ttl == 30);
  auto no_soa = reply_wire("nope.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, {});
  CHECK_FALSE(analyze_answer(no_soa, s).cacheable);
}

TEST_CASE("SERVFAIL (unless servfail_ttl), REFUSED, FORMERR and truncated answers are not cached") {
  CacheSettings s;
  auto servfail = reply_wire("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, {});
  CHECK_FALSE(analyze_answer(servfail, s).cacheable);
  s.servfail_ttl = 5;
  CHECK(analyze_answer(servfail, s).ttl == 5);
  CHECK_FALSE(analyze_answer(reply_wire("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, {}), s).cacheable);
  CHECK_FALSE(analyze_answer(reply_wire("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_FORMERR, {}), s).cacheable);
  auto tc = reply_wire("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"x.example. 300 IN A 192.0.2.1"});
  tc[2] |= 0x02;
  CHECK_FALSE(analyze_answer(tc, s).cacheable);
  auto zero = reply_wire("x.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"x.example. 0 IN A 192.0.2.1"});
  CHECK_FALSE(analyze_answer(zero, s).cacheable);
}

TEST_CASE("a hit carries the client's ID and question case, and TTLs age but never go below zero") {
  PacketCache cache({});
  auto q = make("www.example.");
  cache.store(q.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 300 IN A 192.0.2.1"}),
              1'000'000);
  auto client = make("WwW.ExAmple.", LDNS_RR_TYPE_A, 0xabcd);
  CHECK(client.key().hash == q.key().hash);
  std::vector<uint8_t> out;
  auto hit = cache.lookup(client.key(), client.wire, client.parsed, 1'000'000 + 100'500, false, out);
  CHECK(hit.status == CacheStatus::hit);
  CHECK(dns::id_of(out) == 0xabcd);
  CHECK(std::memcmp(out.data() + 12, client.wire.data() + 12, client.parsed.qname_size) == 0);
  CHECK(ttls_of(out) == std::vector<uint32_t>{200});  // 300 - 100 s
  CHECK(cache.lookup(client.key(), client.wire, client.parsed, 1'000'000 + 299'999, false, out).status ==
        CacheStatus::hit);
  CHECK(ttls_of(out) == std::vector<uint32_t>{1});
  CHECK(cache.lookup(client.key(), client.wire, client.parsed, 1'000'000 + 300'000, false, out).status ==
        CacheStatus::expired);
}

TEST_CASE("NXDOMAIN is served for its SOA-derived time") {
  PacketCache cache({});
  auto q = make("nope.example.");
  cache.store(q.key(), reply_wire("nope.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, {}, {soa + "120"}), 0);
  std::vector<uint8_t> out;
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 119'000, false, out).status == CacheStatus::hit);
  CHECK(dns::rcode_of(out) == dns::Rcode::nxdomain);
  CHECK(ttls_of(out) == std::vector<uint32_t>{1});  // the SOA: min(3600, 120) - 119
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 120'000, false, out).status == CacheStatus::expired);
}

TEST_CASE("the key separates type, DO and CD, and nothing else a client sends") {
  PacketCache cache({});
  auto a = make("www.example.");
  cache.store(a.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 300 IN A 192.0.2.1"}), 0);
  std::vector<uint8_t> out;
  for (auto other : {make("www.example.", LDNS_RR_TYPE_AAAA), make("www.example.", LDNS_RR_TYPE_A, 1, 1232, true)})
    CHECK(cache.lookup(other.key(), other.wire, other.parsed, 1000, false, out).status == CacheStatus::miss);
  // EDNS or not, one answer: it is stored without an OPT, and each client gets diresolver's own.
  auto edns = make("www.example.", LDNS_RR_TYPE_A, 1, 1232);
  CHECK(cache.lookup(edns.key(), edns.wire, edns.parsed, 1000, false, out).status == CacheStatus::hit);
  auto cd = make("www.example.");
  cd.wire[3] |= 0x10;
  cd.parsed = dns::check_query(cd.wire).query;
  CHECK(cache.lookup(cd.key(), cd.wire, cd.parsed, 1000, false, out).status == CacheStatus::miss);
  CHECK(cache.lookup(a.key(), a.wire, a.parsed, 1000, false, out).status == CacheStatus::hit);
}

TEST_CASE("serve-stale: an expired entry within stale_max comes back with TTL 30") {
  CacheSettings s;
  s.stale_max = 3600;
  PacketCache cache(s);
  auto q = make("www.example.", LDNS_RR_TYPE_A, 5, 1232);
  cache.store(q.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.1"}), 0);
  std::vector<uint8_t> out;
  CHECK(cache.peek(q.key(), 61'000) == CacheStatus::stale);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 61'000, false, out).status == CacheStatus::expired);
  REQUIRE(cache.lookup(q.key(), q.wire, q.parsed, 61'000, true, out).status == CacheStatus::stale);
  CHECK(ttls_of(out) == std::vector<uint32_t>{30});  // (EDE 3 is added with diresolver's OPT: dns::finish_answer)
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 60'000 + 3'600'001, true, out).status == CacheStatus::miss);
  // A fresh answer replaces the stale one.
  cache.store(q.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.9"}),
              100'000);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 100'000, false, out).status == CacheStatus::hit);
}

TEST_CASE("with servfail_ttl set, a SERVFAIL never replaces an answer that can still be served") {
  CacheSettings s;
  s.servfail_ttl = 5;
  s.stale_max = 3600;
  PacketCache cache(s);
  auto q = make("www.example.");
  auto servfail = reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, {});
  cache.store(q.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.1"}), 0);
  std::vector<uint8_t> out;
  // A failed prefetch (fresh entry), then failed refreshes during an outage (expired entry).
  for (int64_t now : {55'000, 61'000, 1'800'000}) {
    cache.store(q.key(), servfail, now);
    auto status = cache.lookup(q.key(), q.wire, q.parsed, now, true, out).status;
    CHECK((status == CacheStatus::hit || status == CacheStatus::stale));
    CHECK(dns::rcode_of(out) == dns::Rcode::noerror);
  }
  // Past stale_max nothing is worth keeping: the SERVFAIL is cached for its 5 s.
  int64_t gone = 60'000 + 3'600'001;
  cache.store(q.key(), servfail, gone);
  REQUIRE(cache.lookup(q.key(), q.wire, q.parsed, gone, false, out).status == CacheStatus::hit);
  CHECK(dns::rcode_of(out) == dns::Rcode::servfail);
  // And a real answer replaces a cached SERVFAIL.
  cache.store(q.key(),
              reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.9"}),
              gone + 1000);
  REQUIRE(cache.lookup(q.key(), q.wire, q.parsed, gone + 1000, false, out).status == CacheStatus::hit);
  CHECK(dns::rcode_of(out) == dns::Rcode::noerror);
}

TEST_CASE("after a reload, answers forwarded under the replaced config are not stored") {
  PacketCache cache({});
  auto old_answer = reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.1"});
  auto new_answer = reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.2"});
  auto q = make("www.example.");
  auto other = make("other.example.");
  std::vector<uint8_t> out;
  cache.store(q.key(), old_answer, 0, 1);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 0, false, out).status == CacheStatus::hit);
  cache.refuse_before(2);
  cache.flush_all();
  cache.store(q.key(), old_answer, 0, 1);  // landed after the flush, from a query sent before the reload
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 0, false, out).status == CacheStatus::miss);
  cache.store(q.key(), new_answer, 0, 2);
  REQUIRE(cache.lookup(q.key(), q.wire, q.parsed, 0, false, out).status == CacheStatus::hit);
  CHECK(out.back() == 2);  // 192.0.2.2, the new config's answer: the A record's RDATA ends the packet
  CHECK(cache.stats().entries == 1);
  cache.store(other.key(),
              reply_wire("other.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"other.example. 60 IN A 192.0.2.3"}),
              0);  // no generation given: stored
  CHECK(cache.stats().entries == 2);
}

TEST_CASE("prefetch is asked for once, in the last 10 % of an entry's life") {
  PacketCache cache({});
  auto q = make("popular.example.");
  cache.store(
      q.key(),
      reply_wire("popular.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"popular.example. 100 IN A 192.0.2.1"}), 0);
  std::vector<uint8_t> out;
  CHECK_FALSE(cache.lookup(q.key(), q.wire, q.parsed, 89'000, false, out).prefetch);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 91'000, false, out).prefetch);
  CHECK_FALSE(cache.lookup(q.key(), q.wire, q.parsed, 92'000, false, out).prefetch);
}

TEST_CASE("LRU eviction keeps the cache within max_entries; recently used entries survive") {
  PacketCache cache(one_shard(3));
  std::vector<Query> qs;
  for (int i = 0; i < 4; ++i) qs.push_back(make("n" + std::to_string(i) + ".example."));
  std::vector<uint8_t> out;
  for (int i = 0; i < 3; ++i) cache.store(qs[i].key(), test::answer_wire("n" + std::to_string(i) + ".example.", 7), 0);
  CHECK(cache.lookup(qs[0].key(), qs[0].wire, qs[0].parsed, 1, false, out).status == CacheStatus::hit);  // n0 used
  cache.store(qs[3].key(), test::answer_wire("n3.example.", 7), 2);
  CHECK(cache.stats().entries == 3);
  CHECK(cache.stats().evictions == 1);
  CHECK(cache.peek(qs[1].key(), 3) == CacheStatus::miss);  // the least recently used went
  CHECK(cache.peek(qs[0].key(), 3) == CacheStatus::hit);
  CHECK(cache.peek(qs[3].key(), 3) == CacheStatus::hit);
}

TEST_CASE("max_bytes bounds the cache too, and small entries stay under 250 bytes each") {
  CacheSettings s;
  s.shards = 1;
  PacketCache cache(s);
  for (int i = 0; i < 1000; ++i) {
    auto name = "q" + std::to_string(i) + ".acme.amer.wxc-di.webex.com.";
    cache.store(make(name).key(), test::answer_wire(name, 7), 0);
  }
  auto stats = cache.stats();
  CHECK(stats.entries == 1000);
  CHECK(stats.bytes / stats.entries < 250);
  s.max_bytes = 20 * 1000;
  PacketCache small(s);
  for (int i = 0; i < 1000; ++i) {
    auto name = "q" + std::to_string(i) + ".acme.amer.wxc-di.webex.com.";
    small.store(make(name).key(), test::answer_wire(name, 7), 0);
  }
  CHECK(small.stats().bytes <= 20 * 1000);
  CHECK(small.stats().evictions > 0);
}

TEST_CASE("flush all, one name (every type), or a whole zone") {
  PacketCache cache({});
  std::vector<uint8_t> out;
  auto store = [&](const std::string& name, ldns_rr_type type) {
    auto q = make(name, type);
    cache.store(q.key(), reply_wire(name, type, LDNS_RCODE_NOERROR, {name + " 300 IN A 192.0.2.1"}), 0);
  };
  store("a.acme.example.", LDNS_RR_TYPE_A);
  store("a.acme.example.", LDNS_RR_TYPE_TXT);
  store("b.acme.example.", LDNS_RR_TYPE_A);
  store("badacme.example.", LDNS_RR_TYPE_A);
  store("other.example.", LDNS_RR_TYPE_A);
  CHECK(cache.stats().entries == 5);
  CHECK(cache.flush_name(make("A.acme.example.").key().name) == 2);
  CHECK(cache.flush_zone(make("acme.example.").key().name) == 1);  // b.acme, not badacme
  CHECK(cache.peek(make("badacme.example.").key(), 0) == CacheStatus::hit);
  cache.flush_all();
  CHECK(cache.stats().entries == 0);
  CHECK(cache.stats().bytes == 0);
}

TEST_CASE("an answer is stored only under its own question's name, in any case, and leaves cleanly") {
  PacketCache cache(one_shard(1));
  auto asked = make("www.example.");
  // An answer whose question names another host is never kept under this key.
  cache.store(asked.key(),
              reply_wire("mail.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"mail.example. 300 IN A 192.0.2.9"}), 0);
  CHECK(cache.stats().entries == 0);
  // A 0x20-style mixed-case question is the same name: kept, then evicted by the next store,
  // which must find it in the index by the name it keeps (else the count would stay at 2).
  cache.store(asked.key(),
              reply_wire("WwW.ExAmPlE.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"WwW.ExAmPlE. 300 IN A 192.0.2.1"}), 0);
  CHECK(cache.peek(asked.key(), 0) == CacheStatus::hit);
  auto other = make("ftp.example.");
  cache.store(other.key(),
              reply_wire("ftp.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"ftp.example. 300 IN A 192.0.2.2"}), 0);
  CHECK(cache.stats().entries == 1);
  CHECK(cache.stats().evictions == 1);
  CHECK(cache.peek(asked.key(), 0) == CacheStatus::miss);
  CHECK(cache.peek(other.key(), 0) == CacheStatus::hit);
}

TEST_CASE("one name's types do not share a home in the index") {
  auto a = make("sbc1.acme.example.", LDNS_RR_TYPE_A), aaaa = make("sbc1.acme.example.", LDNS_RR_TYPE_AAAA);
  CHECK((a.key().hash & 0xFFFF) != (aaaa.key().hash & 0xFFFF));
}

TEST_CASE("many threads storing and looking up at once") {
  CacheSettings s;
  s.max_entries = 500;
  PacketCache cache(s);
  std::vector<Query> qs;
  std::vector<std::vector<uint8_t>> answers;
  for (int i = 0; i < 200; ++i) {
    auto name = "h" + std::to_string(i) + ".example.";
    qs.push_back(make(name));
    answers.push_back(test::answer_wire(name, 7));
  }
  std::atomic<uint64_t> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> out;
      out.reserve(65536);
      for (int n = 0; n < 20000; ++n) {
        size_t i = static_cast<size_t>((n * 7 + t) % 200);
        if (n % 3 == 0) cache.store(qs[i].key(), answers[i], n);
        if (cache.lookup(qs[i].key(), qs[i].wire, qs[i].parsed, n, true, out).status == CacheStatus::hit) {
          ++hits;
          CHECK(dns::id_of(out) == qs[i].parsed.id);
        }
        if (n % 5000 == 0) cache.flush_name(qs[i].key().name);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(hits.load() > 0);
  CHECK(cache.stats().entries <= 200);
}

TEST_CASE("an answer that still holds an OPT record is never cached: it would reach every client") {
  PacketCache cache({});
  auto q = make("www.example.", LDNS_RR_TYPE_A, 5, 1232);
  cache.store(
      q.key(),
      reply_wire("www.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"www.example. 60 IN A 192.0.2.1"}, {}, 1232), 0);
  std::vector<uint8_t> out;
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::miss);
}

TEST_CASE("an answer whose only record was an OPT is not cached, with its OPT or without") {
  PacketCache cache({});
  auto q = make("only-opt.example.", LDNS_RR_TYPE_A, 5, 1232);
  auto answer = reply_wire("only-opt.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {}, {}, 1232);
  REQUIRE(dns::arcount_of(answer) == 1);
  cache.store(q.key(), answer, 0);
  std::vector<uint8_t> out;
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::miss);
  answer.resize(answer.size() - 11);  // what the transport hands on: NODATA without an SOA
  dns::write_u16(answer.data() + 10, 0);
  cache.store(q.key(), answer, 0);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::miss);
}

TEST_CASE("an answer with a compression pointer into a TTL field is not cached: aging it would change a name") {
  // From issue 17: the second record's owner (c02b) points at the last byte of the first record's
  // TTL (256: 00 00 01 00), a root name until the cache ages that TTL to 255 and it reads 0xff.
  const char* hex =
      "1234818000010002000000000874746c6261642d31076578616d706c650000010001c00c000100010000010000040a000001c02b000100"
      "010000012c00040a000002";
  std::vector<uint8_t> answer;
  for (const char* p = hex; p[0] && p[1]; p += 2)
    answer.push_back(static_cast<uint8_t>(std::stoi(std::string(p, 2), nullptr, 16)));
  REQUIRE(answer.size() == 66);
  auto q = make("ttlbad-1.example.");
  REQUIRE(dns::check_upstream_answer(answer, 0x1234, q.parsed) == dns::AnswerCheck::ok);  // the walk accepts it
  PacketCache cache({});
  cache.store(q.key(), answer, 0);
  std::vector<uint8_t> out;
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::miss);
  // Ordinary compression (ldns compresses the owners below) is still cached.
  cache.store(q.key(),
              reply_wire("ttlbad-1.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                         {"ttlbad-1.example. 60 IN A 192.0.2.1", "ttlbad-1.example. 60 IN A 192.0.2.2"}),
              0);
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::hit);
}

TEST_CASE("a pointer in a MINFO's RDATA into a TTL field: not cached either") {
  // Found by the upstream_answer fuzzer: the additional MINFO's rmailbx (c02b) points into the
  // RDATA of a record of an unknown type, and the name it reads runs through the next record's
  // TTL, so ldns read another name once that TTL had aged. Names in MINFO, MB, RP, RRSIG, ...
  // RDATA are now held to landing on names too.
  const std::vector<uint8_t> answer = {
      0x04, 0xd2, 0x81, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70,
      0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x0f, 0x00, 0x01, 0xc0, 0x0c, 0x0f, 0x01, 0x00, 0x00, 0x00,
      0x00, 0x01, 0x2c, 0x00, 0x09, 0x00, 0x0a, 0x04, 0x6d, 0x61, 0x69, 0x6c, 0x1c, 0x00, 0xc0, 0x0c, 0xc0, 0x10,
      0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x0c, 0x0b, 0x76, 0x3d, 0x73, 0x2d, 0x61, 0x6c, 0x6c, 0x01, 0x37,
      0x01, 0x61, 0x00, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x02, 0xc0, 0x2b};
  REQUIRE(answer.size() == 87);
  auto q = make("example.com.", LDNS_RR_TYPE_MX, 0x04d2);
  PacketCache cache({});
  cache.store(q.key(), answer, 0);
  std::vector<uint8_t> out;
  CHECK(cache.lookup(q.key(), q.wire, q.parsed, 1000, false, out).status == CacheStatus::miss);
}
