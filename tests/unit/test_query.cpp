// Client query checks: what passes, what is dropped, what gets FORMERR or NOTIMP.
#include <doctest/doctest.h>

#include <random>

#include "dns/query.hpp"
#include "packets.hpp"

using namespace diresolver;
using namespace diresolver::dns;

TEST_CASE("a normal query parses: id, lower-cased name, type, EDNS") {
  auto packet = test::query_wire("Cucm.ACME.amer.wxc-di.webex.com.", LDNS_RR_TYPE_SRV, 0xbeef, 1232, true);
  auto check = check_query(packet);
  REQUIRE(check.verdict == QueryVerdict::ok);
  CHECK(check.query.id == 0xbeef);
  CHECK(check.query.qtype == 33);
  CHECK(check.query.qclass == 1);
  CHECK(check.query.name() == std::string_view("\x04"
                                               "cucm"
                                               "\x04"
                                               "acme"
                                               "\x04"
                                               "amer"
                                               "\x06"
                                               "wxc-di"
                                               "\x05"
                                               "webex"
                                               "\x03"
                                               "com"
                                               "\x00",
                                               33));
  CHECK(check.query.edns.present);
  CHECK(check.query.edns.udp_size == 1232);
  CHECK(check.query.edns.do_bit);
  CHECK(check.query.max_udp_answer() == 1232);
}

TEST_CASE("without EDNS a UDP client takes 512 bytes") {
  auto check = check_query(test::query_wire("example.com."));
  REQUIRE(check.verdict == QueryVerdict::ok);
  CHECK_FALSE(check.query.edns.present);
  CHECK(check.query.max_udp_answer() == 512);
}

TEST_CASE("malformed queries get the right verdict") {
  auto good = test::query_wire("a.example.");
  struct Case {
    const char* what;
    std::vector<uint8_t> packet;
    QueryVerdict verdict;
  };
  auto with = [&](auto change) {
    auto p = good;
    change(p);
    return p;
  };
  const Case cases[] = {
      {"empty", {}, QueryVerdict::drop},
      {"shorter than a header", {1, 2, 3, 4, 5}, QueryVerdict::drop},
      {"a response (QR=1)", with([](auto& p) { p[2] |= 0x80; }), QueryVerdict::drop},
      {"NOTIFY opcode", with([](auto& p) { p[2] |= 4 << 3; }), QueryVerdict::notify},
      {"UPDATE opcode", with([](auto& p) { p[2] |= 5 << 3; }), QueryVerdict::notimp},
      {"QDCOUNT 0", with([](auto& p) { p[5] = 0; }), QueryVerdict::formerr},
      {"QDCOUNT 2", with([](auto& p) { p[5] = 2; }), QueryVerdict::formerr},
      {"question cut short", with([](auto& p) { p.resize(p.size() - 3); }), QueryVerdict::formerr},
      {"header only", with([](auto& p) { p.resize(12); }), QueryVerdict::formerr},
      {"label running past the end", with([](auto& p) { p[12] = 60; }), QueryVerdict::formerr},
      {"compression pointer in the question", with([](auto& p) {
         p[12] = 0xc0;
         p[13] = 12;
       }),
       QueryVerdict::formerr},
      {"trailing garbage", with([](auto& p) {
         p.push_back(0);
         p.push_back(1);
       }),
       QueryVerdict::formerr},
      {"ARCOUNT with no record", with([](auto& p) { p[11] = 1; }), QueryVerdict::formerr},
      {"ANCOUNT with no record", with([](auto& p) { p[7] = 1; }), QueryVerdict::formerr},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(check_query(c.packet).verdict == c.verdict);
  }
}

TEST_CASE("two OPT records, or an OPT with a non-root owner, are FORMERR") {
  auto packet = test::query_wire("a.example.", LDNS_RR_TYPE_A, 1, 1232);
  const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
  auto twice = packet;
  twice.insert(twice.end(), std::begin(opt), std::end(opt));
  twice[11] = 2;
  CHECK(check_query(twice).verdict == QueryVerdict::formerr);

  auto owned = test::query_wire("a.example.");
  const uint8_t named_opt[] = {1, 'x', 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
  owned.insert(owned.end(), std::begin(named_opt), std::end(named_opt));
  owned[11] = 1;
  CHECK(check_query(owned).verdict == QueryVerdict::formerr);
}

TEST_CASE("a maximal name parses and an over-long one does not") {
  std::string name;
  while (name.size() + 64 <= 253) name += std::string(63, 'a') + ".";
  auto long_ok = test::query_wire(name);
  CHECK(check_query(long_ok).verdict == QueryVerdict::ok);
  // Hand-build 5 labels of 63: 320 octets, over the 255 limit.
  std::vector<uint8_t> too_long(long_ok.begin(), long_ok.begin() + 12);
  for (int i = 0; i < 5; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'b');
  }
  too_long.insert(too_long.end(), {0, 0, 1, 0, 1});
  CHECK(check_query(too_long).verdict == QueryVerdict::formerr);
}

TEST_CASE("random mutations never read out of bounds") {
  // Run under ASan in CI: any overread fails the suite.
  std::mt19937 rng(20261125);
  auto seed = test::query_wire("_cisco-uds._tcp.acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_SRV, 7, 1232);
  int ok = 0;
  for (int i = 0; i < 200000; ++i) {
    auto packet = seed;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0: packet[rng() % packet.size()] = static_cast<uint8_t>(rng()); break;
        case 1: packet.resize(rng() % (packet.size() + 1)); break;
        case 2: packet.push_back(static_cast<uint8_t>(rng())); break;
      }
      if (packet.empty()) break;
    }
    auto check = check_query(packet);
    if (check.verdict == QueryVerdict::ok) {
      ++ok;
      CHECK(check.query.question_end <= packet.size());
    }
  }
  CHECK(ok > 0);
}
