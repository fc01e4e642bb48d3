// EDNS as hop-by-hop (dns/edns.hpp): what goes upstream carries diresolver's
// own OPT and none of the client's options; what comes back loses the
// upstream's OPT; what a client gets has diresolver's header flags and OPT.
#include <doctest/doctest.h>

#include "allocation_count.hpp"
#include "dns/edns.hpp"
#include "dns/query.hpp"
// Last: ldns's headers define macros that break <optional> when included before it.
#include "packets.hpp"

using namespace diresolver;
using namespace diresolver::dns;

namespace {

// A query with EDNS (DO as given), a cookie, NSID and client-subnet options, and CD.
std::vector<uint8_t> query_with_options(const std::string& name, bool do_bit) {
  ldns_pkt* pkt = test::new_query(name, LDNS_RR_TYPE_A, 0x4242);
  ldns_pkt_set_cd(pkt, true);
  ldns_pkt_set_edns_udp_size(pkt, 4096);
  ldns_pkt_set_edns_do(pkt, do_bit);
  const uint8_t options[] = {0, 10, 0, 8, 1, 2, 3,  4, 5,   6,  7,  8,  // COOKIE, a client cookie
                             0, 3,  0, 0,                               // NSID, asked
                             0, 8,  0, 7, 0, 1, 24, 0, 198, 51, 100};   // client subnet 198.51.100/24
  ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, sizeof options, options));
  return test::to_wire(pkt);
}

ParsedQuery parsed(const std::vector<uint8_t>& packet) {
  auto check = check_query(packet);
  REQUIRE(check.verdict == QueryVerdict::ok);
  return check.query;
}

struct Opt {
  bool present = false;
  uint16_t udp_size = 0;
  uint8_t version = 0;
  bool do_bit = false;
  size_t options_size = 0;
};

Opt opt_of(const std::vector<uint8_t>& wire) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  Opt out{ldns_pkt_edns(pkt) != 0, ldns_pkt_edns_udp_size(pkt), ldns_pkt_edns_version(pkt), ldns_pkt_edns_do(pkt) != 0,
          ldns_pkt_edns_data(pkt) ? ldns_rdf_size(ldns_pkt_edns_data(pkt)) : 0};
  ldns_pkt_free(pkt);
  return out;
}

}  // namespace

TEST_CASE("upstream gets the client's question and CD, RD=1, DO, and diresolver's OPT without the client's options") {
  auto client = query_with_options("MiXeD.Example.", true);
  std::vector<uint8_t> upstream;
  write_upstream_query(client, parsed(client), upstream);
  auto opt = opt_of(upstream);
  CHECK(opt.present);
  CHECK(opt.udp_size == own_udp_size);
  CHECK(opt.version == 0);
  CHECK(opt.do_bit);
  CHECK(opt.options_size == 0);  // no cookie, NSID or client subnet of the client's
  CHECK(flags_of(upstream) == (flag::rd | flag::cd));
  CHECK(arcount_of(upstream) == 1);
  auto check = check_query(upstream);
  REQUIRE(check.verdict == QueryVerdict::ok);
  CHECK(std::equal(upstream.begin() + header_size, upstream.begin() + static_cast<long>(check.query.question_end),
                   client.begin() + header_size));  // 0x20 case kept

  auto plain = test::query_wire("a.example.");  // a client without EDNS: diresolver still speaks it upstream
  write_upstream_query(plain, parsed(plain), upstream);
  CHECK(opt_of(upstream).present);
  CHECK_FALSE(opt_of(upstream).do_bit);
}

TEST_CASE("an upstream answer loses its OPT (and what follows it); an extended RCODE is refused") {
  auto answer =
      test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"a.example. 60 IN A 192.0.2.1"}, {}, 4096);
  REQUIRE(arcount_of(answer) == 1);
  auto question_end = header_size + 11 + 4;
  auto size = without_opt(answer, question_end);
  REQUIRE(size);
  answer.resize(*size);
  CHECK(arcount_of(answer) == 0);
  CHECK_FALSE(opt_of(answer).present);
  CHECK(without_opt(answer, question_end) == answer.size());  // nothing more to strip

  auto badcookie = test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {}, {}, 4096);
  badcookie[badcookie.size() - 6] = 1;  // the OPT's extended RCODE bits
  CHECK_FALSE(without_opt(badcookie, question_end));

  // An OPT in the answer section cannot be cut off without the records after it.
  auto misplaced = test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {}, {}, 4096);
  write_u16(misplaced.data() + 6, 1);   // ANCOUNT 1
  write_u16(misplaced.data() + 10, 0);  // ARCOUNT 0: the same bytes, now the answer section's
  CHECK_FALSE(without_opt(misplaced, question_end));
}

TEST_CASE("a client's answer: its ID and case, AA=0, RA=1, AD=0, its RD and CD, and diresolver's OPT") {
  auto client = query_with_options("A.Example.", true);
  auto query = parsed(client);
  auto answer = test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"a.example. 60 IN A 192.0.2.1"});
  write_u16(answer.data() + 2, flag::qr | flag::aa | flag::ad);  // as an authoritative server says it, RA=0
  answer.reserve(answer.size() + 64);
  size_t before = test::allocation_count();
  finish_answer(answer, client, query, Ede::stale_answer);
  CHECK(test::allocation_count() == before);  // room reserved: nothing allocated
  CHECK(id_of(answer) == 0x4242);
  CHECK(flags_of(answer) == (flag::qr | flag::ra | flag::rd | flag::cd));
  CHECK(std::equal(answer.begin() + header_size, answer.begin() + header_size + 11, client.begin() + header_size));
  auto opt = opt_of(answer);
  CHECK(opt.present);
  CHECK(opt.do_bit);
  CHECK(opt.udp_size == own_udp_size);
  CHECK(opt.options_size == 6);  // the EDE option only

  auto plain_client = test::query_wire("a.example.");
  auto plain = test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"a.example. 60 IN A 192.0.2.1"});
  finish_answer(plain, plain_client, parsed(plain_client));
  CHECK_FALSE(opt_of(plain).present);  // no EDNS asked, none given
  CHECK(flags_of(plain) == (flag::qr | flag::ra | flag::rd));
}

TEST_CASE("query checks as Unbound: TC=1 and meta types FORMERR, NOTIFY refused, other opcodes NOTIMP") {
  auto with = [](auto change) {
    auto wire = test::query_wire("a.example.", LDNS_RR_TYPE_A, 1, 1232);
    change(wire);
    return check_query(wire).verdict;
  };
  CHECK(with([](auto& p) { p[2] |= 0x02; }) == QueryVerdict::formerr);          // TC=1
  CHECK(with([](auto& p) { p[12 + 11 + 1] = 250; }) == QueryVerdict::formerr);  // qtype TSIG
  CHECK(with([](auto& p) { p[12 + 11 + 1] = 255; }) == QueryVerdict::ok);       // ANY goes on
  CHECK(with([](auto& p) { p[2] |= 4 << 3; }) == QueryVerdict::notify);         // NOTIFY
  CHECK(with([](auto& p) { p[2] |= 2 << 3; }) == QueryVerdict::notimp);         // STATUS
  CHECK(with([](auto& p) { p[p.size() - 5] = 1; }) == QueryVerdict::badvers);   // EDNS version 1
}

namespace {

// An answer to `client` of exactly `size` bytes: one TXT record of 255-byte strings and a shorter last one.
std::vector<uint8_t> answer_of_size(const std::vector<uint8_t>& client, const ParsedQuery& query, size_t size) {
  std::vector<uint8_t> out(client.begin(), client.begin() + static_cast<long>(query.question_end));
  write_u16(out.data() + 2, flag::qr | flag::rd);
  write_u16(out.data() + 6, 1);
  write_u16(out.data() + 10, 0);
  size_t rdlength = size - out.size() - 12;
  const uint8_t fixed[] = {0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 0, uint8_t(rdlength >> 8), uint8_t(rdlength)};
  out.insert(out.end(), std::begin(fixed), std::end(fixed));
  for (size_t left = rdlength; left > 0;) {
    size_t chunk = std::min<size_t>(left - 1, 255);
    out.push_back(static_cast<uint8_t>(chunk));
    out.insert(out.end(), chunk, 'x');
    left -= chunk + 1;
  }
  REQUIRE(out.size() == size);
  return out;
}

}  // namespace

TEST_CASE("diresolver's OPT never pushes an answer past 65535 bytes: the EDE goes first, then the records") {
  auto client = test::query_wire("big.example.", LDNS_RR_TYPE_TXT, 0x4242, 1232);
  auto query = parsed(client);
  auto fits_without_ede = answer_of_size(client, query, 65535 - 11);
  finish_answer(fits_without_ede, client, query, Ede::stale_answer);
  CHECK(fits_without_ede.size() == 65535);
  CHECK(opt_of(fits_without_ede).options_size == 0);  // the EDE gave way
  CHECK((flags_of(fits_without_ede) & flag::tc) == 0);

  auto too_big = answer_of_size(client, query, 65533);  // a stale 65,533-byte answer over TCP
  finish_answer(too_big, client, query, Ede::stale_answer);
  CHECK(too_big.size() <= 65535);
  CHECK((flags_of(too_big) & flag::tc) != 0);
  CHECK(ancount_of(too_big) == 0);
  CHECK(opt_of(too_big).present);
  ParsedQuery echoed;
  REQUIRE(read_question(too_big, echoed));
  CHECK(echoed.name() == query.name());
}

TEST_CASE("an upstream OPT is dropped whatever its owner (a pointer instead of the root)") {
  auto answer =
      test::reply_wire("a.example.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {"a.example. 60 IN A 192.0.2.1"}, {}, 4096);
  // The OPT is last: root owner (1 byte), then TYPE. Make its owner a pointer to the question name.
  auto at = answer.size() - 11;
  REQUIRE(answer[at] == 0);
  answer[at] = 0xc0;
  answer.insert(answer.begin() + static_cast<long>(at) + 1, 12);
  auto size = without_opt(answer, header_size + 11 + 4);
  REQUIRE(size);
  CHECK(*size == at);
  CHECK(arcount_of(answer) == 0);
}
