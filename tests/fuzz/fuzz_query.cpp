// Fuzz target "query": any bytes as a client's query.
//
// dns::check_query() judges it; every reply the query path makes at once is
// built from it: for the verdicts answered (FORMERR, NOTIMP, REFUSED for
// NOTIFY, BADVERS) and, for a query that passes, the replies made about it
// later (REFUSED by the ACL or by policy, SERVFAIL while not ready or when no
// server answered), each with dns::make_reply() and cut with
// dns::make_truncated() as a UDP client too small for it would get it.
// Invariants (wire_check.hpp): every reply parses with ldns, carries the
// query's ID, QR=1, its RCODE, the query's question byte for byte, and one
// OPT exactly when the query had EDNS; the truncated one has TC=1 as well.
#include <cstdint>
#include <vector>

#include "dns/response.hpp"
#include "wire_check.hpp"

using namespace diresolver;
using fuzz::violation;

namespace {

struct Answered {
  const char* what;
  dns::Reply how;
};

// The replies query_handler.cpp and miss_path.cpp make for this verdict.
std::vector<Answered> replies_for(dns::QueryVerdict verdict) {
  using dns::Ede, dns::Rcode;
  switch (verdict) {
    case dns::QueryVerdict::drop: return {};
    case dns::QueryVerdict::formerr: return {{"make_reply(FORMERR)", {Rcode::formerr, {}, false}}};
    case dns::QueryVerdict::notimp: return {{"make_reply(NOTIMP)", {Rcode::notimp, {}, false}}};
    case dns::QueryVerdict::notify: return {{"make_reply(REFUSED, NOTIFY)", {Rcode::refused}}};
    case dns::QueryVerdict::badvers: return {{"make_reply(BADVERS)", {Rcode::badvers}}};
    case dns::QueryVerdict::ok:
      return {{"make_reply(REFUSED, EDE 18)", {Rcode::refused, Ede::prohibited, false}},
              {"make_reply(REFUSED)", {Rcode::refused}},
              {"make_reply(REFUSED, no RA)", {Rcode::refused, {}, false}},
              {"make_reply(SERVFAIL, EDE 14)", {Rcode::servfail, Ede::not_ready}},
              {"make_reply(SERVFAIL, EDE 22)", {Rcode::servfail, Ede::no_reachable_authority}},
              {"make_reply(SERVFAIL, EDE 23)", {Rcode::servfail, Ede::network_error}}};
  }
  return {};
}

// Whether ldns takes the question itself: if not, a reply that echoes it cannot parse either,
// and that is ldns's view of the client's name, not a fault of the reply.
bool ldns_takes_question(fuzz::Bytes question) {
  std::vector<uint8_t> m(12, 0);
  m[5] = 1;  // QDCOUNT
  m.insert(m.end(), question.begin(), question.end());
  return fuzz::ldns_parse(m) != nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dns::Bytes packet(data, size);
  auto check = dns::check_query(packet);
  const auto& query = check.query;
  auto replies = replies_for(check.verdict);
  if (replies.empty()) return 0;
  fuzz::Bytes question;
  if (query.question_end) question = packet.subspan(dns::header_size, query.question_end - dns::header_size);
  bool ldns_must_parse = question.empty() || ldns_takes_question(question);
  unsigned opts = query.edns.present ? 1 : 0;
  for (const auto& [what, how] : replies) {
    auto reply = dns::make_reply(packet, query, how);
    fuzz::check_message(reply, {what, query.id, question, true, opts, ldns_must_parse});
    auto rcode = static_cast<unsigned>(how.rcode) & 0xf;
    if ((reply[3] & 0xf) != rcode) violation(reply, "%s: RCODE %u in the header, not %u", what, reply[3] & 0xf, rcode);
    if (bool(reply[3] & 0x80) != how.recursion_available) violation(reply, "%s: RA is wrong", what);
    auto cut = dns::make_truncated(reply, query);
    std::string cut_what = std::string("make_truncated of ") + what;
    fuzz::check_message(cut, {cut_what.c_str(), query.id, question, true, opts, ldns_must_parse});
    if (!(cut[2] & 0x02)) violation(cut, "%s: TC is not set", cut_what.c_str());
    if (cut.size() > reply.size()) violation(cut, "%s: longer than the reply it cuts", cut_what.c_str());
  }
  return 0;
}
