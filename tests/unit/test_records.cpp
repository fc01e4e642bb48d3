// The in-place record walk that checks upstream answers (instead of a full
// ldns parse per answer): answers ldns builds pass, broken ones do not.
#include <doctest/doctest.h>

#include <random>

#include "cache/answer_analysis.hpp"
#include "dns/records.hpp"
#include "dns/rr_type.hpp"
#include "dns/response.hpp"
#include "packets.hpp"

using namespace diresolver;
using namespace diresolver::dns;

namespace {

const std::string kName = "_sip._tcp.acme.amer.wxc-di.webex.com.";

ParsedQuery question_of(const std::vector<uint8_t>& answer) {
  ParsedQuery q;
  REQUIRE(read_question(answer, q));
  return q;
}

AnswerCheck check(const std::vector<uint8_t>& answer) {
  auto q = question_of(answer);
  return check_upstream_answer(answer, id_of(answer), q);
}

// Answers of every shape the checked types take, compressed by ldns.
std::vector<std::vector<uint8_t>> sample_answers() {
  return {
      test::reply_wire(kName, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR,
                       {kName + " 300 IN SRV 10 60 5060 sbc1.acme.amer.wxc-di.webex.com.",
                        kName + " 300 IN SRV 20 40 5060 sbc2.acme.amer.wxc-di.webex.com."},
                       {}, 1232),
      test::reply_wire("www.acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                       {"www.acme.amer.wxc-di.webex.com. 60 IN CNAME host.acme.amer.wxc-di.webex.com.",
                        "host.acme.amer.wxc-di.webex.com. 60 IN A 192.0.2.1"}),
      test::reply_wire("v6.acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR,
                       {"v6.acme.amer.wxc-di.webex.com. 60 IN AAAA 2001:db8::1"}),
      test::reply_wire("acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                       {"acme.amer.wxc-di.webex.com. 60 IN MX 10 mail.acme.amer.wxc-di.webex.com.",
                        "acme.amer.wxc-di.webex.com. 60 IN NS ns1.amer.wxc-di.webex.com."}),
      test::reply_wire("gone.acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, {},
                       {"acme.amer.wxc-di.webex.com. 300 IN SOA ns1.webex.com. hostmaster.webex.com. 1 2 3 4 60"},
                       1232),
  };
}

}  // namespace

TEST_CASE("compressed answers of every checked type pass, and ldns agrees") {
  for (const auto& answer : sample_answers()) {
    CHECK(check(answer) == AnswerCheck::ok);
    ldns_pkt* pkt = nullptr;
    CHECK(ldns_wire2pkt(&pkt, answer.data(), answer.size()) == LDNS_STATUS_OK);
    ldns_pkt_free(pkt);
  }
}

TEST_CASE("an answer cut anywhere, or with bytes after its last record, is malformed") {
  for (const auto& answer : sample_answers()) {
    size_t question_end = question_of(answer).question_end;
    for (size_t size = question_end; size < answer.size(); ++size) {
      std::vector<uint8_t> cut(answer.begin(), answer.begin() + static_cast<long>(size));
      CHECK_MESSAGE(check(cut) == AnswerCheck::malformed, "cut at ", size, " of ", answer.size());
    }
    auto longer = answer;
    longer.push_back(0);
    CHECK(check(longer) == AnswerCheck::malformed);
  }
}

TEST_CASE("compression pointers must point strictly backwards, past the header") {
  // Question at 12: 3www4acme0 (10 octets) + type/class; the answer's owner follows at 26.
  std::vector<uint8_t> m = {0,   7,   0x81, 0x80, 0,   1,   0,   1,   0, 0, 0, 0, 3,
                            'w', 'w', 'w',  4,    'a', 'c', 'm', 'e', 0, 0, 1, 0, 1};
  auto with_owner = [&](std::vector<uint8_t> owner) {
    auto out = m;
    out.insert(out.end(), owner.begin(), owner.end());
    std::vector<uint8_t> rest = {0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
  };
  CHECK(check(with_owner({0xc0, 12})) == AnswerCheck::ok);             // back to the question
  CHECK(check(with_owner({1, 'x', 0xc0, 12})) == AnswerCheck::ok);     // label, then pointer
  CHECK(check(with_owner({0xc0, 26})) == AnswerCheck::malformed);      // to itself: a loop
  CHECK(check(with_owner({0xc0, 40})) == AnswerCheck::malformed);      // forwards
  CHECK(check(with_owner({0xc0, 4})) == AnswerCheck::malformed);       // into the header
  CHECK(check(with_owner({0x40, 'x', 0})) == AnswerCheck::malformed);  // reserved label type
  CHECK(check_name(with_owner({1, 'x', 0xc0, 12}), 26) == std::optional<size_t>(30));
}

TEST_CASE("names longer than 255 octets are malformed, also when built from pointers") {
  std::vector<uint8_t> m(12, 0);
  for (int i = 0; i < 4; ++i) {  // 4 x 63-octet labels + root = 257 octets
    m.push_back(63);
    m.insert(m.end(), 63, 'a');
  }
  m.push_back(0);
  CHECK_FALSE(check_name(m, 12));
  std::vector<uint8_t> fits(12, 0);
  for (int i = 0; i < 3; ++i) {
    fits.push_back(63);
    fits.insert(fits.end(), 63, 'a');
  }
  fits.push_back(0);  // 193 octets
  fits.insert(fits.end(), {62});
  fits.insert(fits.end(), 62, 'b');
  fits.insert(fits.end(), {0xc0, 12});  // 63 + 193 = 256: one too many
  CHECK(check_name(fits, 12) == std::optional<size_t>(12 + 193));
  CHECK_FALSE(check_name(fits, 12 + 193));
}

TEST_CASE("RDATA must have its type's shape") {
  auto a = test::answer_wire("host.acme.amer.wxc-di.webex.com.", 7);
  REQUIRE(check(a) == AnswerCheck::ok);
  auto short_a = a;
  short_a[short_a.size() - 5] = 3;  // RDLENGTH 3 with 3 octets: well bounded, but no A record
  short_a.pop_back();
  CHECK(check(short_a) == AnswerCheck::malformed);

  auto srv = sample_answers()[0];
  REQUIRE(check(srv) == AnswerCheck::ok);
  RecordView first{};
  REQUIRE(for_each_record(srv, question_of(srv).question_end, [&](const RecordView& r) {
    if (r.index == 0) first = r;
    return true;
  }));
  REQUIRE(first.type == 33);
  auto bad_target = srv;
  bad_target[first.rdata + 6] = 0x80;  // the target's first label type becomes reserved
  CHECK(check(bad_target) == AnswerCheck::malformed);
}

TEST_CASE("random mutations of answers never read out of bounds, and what passes can be cached") {
  std::mt19937 rng(20261126);
  CacheSettings settings;
  for (const auto& answer : sample_answers()) {
    for (int round = 0; round < 4000; ++round) {
      auto mutated = answer;
      for (int flips = 1 + int(rng() % 3); flips > 0; --flips)
        mutated[12 + rng() % (mutated.size() - 12)] = static_cast<uint8_t>(rng());
      ParsedQuery q;
      if (!read_question(mutated, q)) continue;
      if (check_upstream_answer(mutated, id_of(mutated), q) != AnswerCheck::ok) continue;
      auto analysis = analyze_answer(mutated, settings);
      CHECK(analysis.ttl_count <= max_cached_records);
      for (size_t i = 0; i < analysis.ttl_count; ++i) CHECK(analysis.ttl_offsets[i] + 4u <= mutated.size());
    }
  }
}

TEST_CASE("a record type reads as its mnemonic, or as TYPEn when it has none") {
  CHECK(rr_type_text(28) == "AAAA");
  CHECK(rr_type_text(6) == "SOA");
  CHECK(rr_type_text(65280) == "TYPE65280");
}
