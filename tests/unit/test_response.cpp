// Replies diresolver builds, and acceptance of upstream answers.
#include <doctest/doctest.h>

#include "dns/response.hpp"
#include "packets.hpp"

using namespace diresolver;
using namespace diresolver::dns;

namespace {

ParsedQuery parsed(const std::vector<uint8_t>& packet) {
  auto check = check_query(packet);
  REQUIRE(check.verdict == QueryVerdict::ok);
  return check.query;
}

ldns_pkt* parse(const std::vector<uint8_t>& wire) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  return pkt;
}

}  // namespace

TEST_CASE("an error reply echoes ID, question (in the client's case) and RD") {
  auto query = test::query_wire("MiXeD.Example.", LDNS_RR_TYPE_AAAA, 0x4242);
  auto reply = make_reply(query, parsed(query), {Rcode::refused});
  ldns_pkt* pkt = parse(reply);
  CHECK(ldns_pkt_id(pkt) == 0x4242);
  CHECK(ldns_pkt_qr(pkt));
  CHECK(ldns_pkt_rd(pkt));
  CHECK(ldns_pkt_ra(pkt));
  CHECK_FALSE(ldns_pkt_aa(pkt));
  CHECK(ldns_pkt_get_rcode(pkt) == LDNS_RCODE_REFUSED);
  REQUIRE(ldns_pkt_qdcount(pkt) == 1);
  char* owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(pkt), 0)));
  CHECK(std::string(owner) == "MiXeD.Example.");
  free(owner);
  CHECK(ldns_pkt_ancount(pkt) == 0);
  CHECK(ldns_pkt_arcount(pkt) == 0);  // no EDNS asked, none given
  ldns_pkt_free(pkt);
}

TEST_CASE("an EDNS client gets OPT back with the Extended DNS Error") {
  auto query = test::query_wire("x.acme.amer.wxc-di.webex.com.", LDNS_RR_TYPE_A, 9, 4096, true);
  auto reply = make_reply(query, parsed(query), {Rcode::servfail, Ede::no_reachable_authority});
  ldns_pkt* pkt = parse(reply);
  CHECK(ldns_pkt_get_rcode(pkt) == LDNS_RCODE_SERVFAIL);
  CHECK(ldns_pkt_edns(pkt));
  CHECK(ldns_pkt_edns_do(pkt));
  ldns_rdf* options = ldns_pkt_edns_data(pkt);
  REQUIRE(options);
  REQUIRE(ldns_rdf_size(options) == 6);
  const uint8_t* o = ldns_rdf_data(options);
  CHECK(read_u16(o) == 15);      // EDE option code
  CHECK(read_u16(o + 2) == 2);   // length
  CHECK(read_u16(o + 4) == 22);  // No Reachable Authority
  ldns_pkt_free(pkt);
}

TEST_CASE("FORMERR for an unreadable question carries the header only") {
  auto query = test::query_wire("a.example.");
  query.resize(14);
  auto check = check_query(query);
  REQUIRE(check.verdict == QueryVerdict::formerr);
  auto reply = make_reply(query, check.query, {Rcode::formerr, {}, false});
  CHECK(reply.size() == header_size);
  CHECK(id_of(reply) == 0x1234);
  CHECK(rcode_of(reply) == Rcode::formerr);
  CHECK(qdcount_of(reply) == 0);
  CHECK((flags_of(reply) & flag::ra) == 0);  // as Unbound: no RA on FORMERR, NOTIMP, a refused client or transfer
}

TEST_CASE("BADVERS: the header's RCODE bits 0, the OPT's upper bits 1, version 0, CD echoed") {
  auto query = test::query_wire("x.example.", LDNS_RR_TYPE_A, 5, 1232);
  query[query.size() - 5] = 1;  // EDNS version 1: the OPT's TTL is ext RCODE, version, flags; then RDLENGTH 0
  query[3] |= 0x10;              // CD
  auto check = check_query(query);
  REQUIRE(check.verdict == QueryVerdict::badvers);
  auto reply = make_reply(query, check.query, {Rcode::badvers});
  CHECK(rcode_of(reply) == Rcode::noerror);
  CHECK((flags_of(reply) & flag::cd) != 0);
  CHECK((flags_of(reply) & flag::ra) != 0);
  REQUIRE(arcount_of(reply) == 1);
  const uint8_t* opt = reply.data() + reply.size() - 11;
  CHECK(opt[0] == 0);                       // root owner
  CHECK(read_u16(opt + 1) == type_opt);
  CHECK(opt[5] == 1);                       // extended RCODE: 16 >> 4
  CHECK(opt[6] == 0);                       // version 0
}

TEST_CASE("an answer too big for the client is cut to a TC=1 header and question") {
  auto query = test::query_wire("big.example.");
  auto answer = test::answer_wire("big.example.", 0x1234, 60);
  REQUIRE(answer.size() > 512);
  auto cut = make_truncated(answer, parsed(query));
  CHECK(cut.size() <= 512);
  ldns_pkt* pkt = parse(cut);
  CHECK(ldns_pkt_tc(pkt));
  CHECK(ldns_pkt_qr(pkt));
  CHECK(ldns_pkt_qdcount(pkt) == 1);
  CHECK(ldns_pkt_ancount(pkt) == 0);
  ldns_pkt_free(pkt);
}

TEST_CASE("upstream answers are accepted only when ID, QR and question match") {
  auto query = test::query_wire("host.acme.amer.wxc-di.webex.com.");
  auto q = parsed(query);
  auto good = test::answer_wire("host.acme.amer.wxc-di.webex.com.", 0x7777);
  CHECK(check_upstream_answer(good, 0x7777, q) == AnswerCheck::ok);
  CHECK(check_upstream_answer(good, 0x7778, q) == AnswerCheck::mismatched);  // wrong ID
  auto upper = test::answer_wire("HOST.acme.AMER.wxc-di.webex.com.", 0x7777);
  CHECK(check_upstream_answer(upper, 0x7777, q) == AnswerCheck::ok);  // 0x20 case differences are fine
  auto other = test::answer_wire("evil.acme.amer.wxc-di.webex.com.", 0x7777);
  CHECK(check_upstream_answer(other, 0x7777, q) == AnswerCheck::mismatched);  // wrong question
  auto not_response = good;
  not_response[2] &= 0x7f;
  CHECK(check_upstream_answer(not_response, 0x7777, q) == AnswerCheck::mismatched);  // QR=0
  auto short_packet = good;
  short_packet.resize(8);
  CHECK(check_upstream_answer(short_packet, 0x7777, q) == AnswerCheck::mismatched);
  auto broken = good;
  broken.resize(broken.size() - 2);  // the A record's data cut short
  CHECK(check_upstream_answer(broken, 0x7777, q) == AnswerCheck::malformed);
}
