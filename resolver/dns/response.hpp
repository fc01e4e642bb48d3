// Answers diresolver makes itself, and checks on answers it receives.
//
// make_reply() builds an answer with no records (FORMERR, REFUSED, NOTIMP,
// SERVFAIL, BADVERS) from the client's header and question, with
// diresolver's own OPT when the client used EDNS, carrying an Extended DNS
// Error (RFC 8914) when given.
// check_upstream_answer() decides whether an upstream's packet answers the
// query we sent (ID, QR, opcode, question) and is well formed (dns/records.hpp:
// every record bounded, names and pointers valid, RDATA shaped by its type).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dns/query.hpp"

namespace diresolver::dns {

struct Reply {
  Rcode rcode;
  std::optional<Ede> ede = std::nullopt;
  // RA as Unbound sets it: not on FORMERR, NOTIMP, a refused client or a refused zone transfer.
  bool recursion_available = true;
};
std::vector<uint8_t> make_reply(Bytes query, const ParsedQuery& parsed, Reply reply);

// A UDP client that cannot take `answer` whole gets the header and question
// with TC=1, so it retries over TCP (RFC 1035 §4.2.1, RFC 7766).
std::vector<uint8_t> make_truncated(Bytes answer, const ParsedQuery& parsed);

// A query for `name_wire` (lower-case wire form) of `type`, class IN, RD=1, ID 0.
std::vector<uint8_t> make_query(const std::string& name_wire, uint16_t type);

enum class AnswerCheck { ok, mismatched, malformed };
AnswerCheck check_upstream_answer(Bytes answer, uint16_t sent_id, const ParsedQuery& query);

}  // namespace diresolver::dns
