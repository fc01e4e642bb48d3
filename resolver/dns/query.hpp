// Checking a client's query before anything acts on it.
//
// check_query() reads the header, the one question (name lower-cased for
// routing) and walks every record so that trailing garbage or a bad OPT is
// caught; it allocates nothing. Its verdict says what the query path does:
// go on, drop silently, or answer at once, as Unbound does: FORMERR (also for
// TC=1 in a query and for the meta types OPT, TKEY, TSIG, MAILB, MAILA that
// no one asks for), NOTIMP for opcodes other than QUERY and NOTIFY, REFUSED
// for NOTIFY (a forwarder has no zones to refresh), BADVERS for EDNS versions
// above 0 (RFC 6891 §6.1.3).
#pragma once

#include <cstdint>
#include <string_view>

#include "dns/wire.hpp"

namespace diresolver::dns {

struct Edns {
  bool present = false;
  uint16_t udp_size = 512;
  bool do_bit = false;
  uint8_t version = 0;
};

struct ParsedQuery {
  uint16_t id = 0;
  uint16_t flags = 0;
  size_t question_end = 0;            // 0 when no valid question could be read
  uint8_t qname[max_name_size] = {};  // wire form, lower case
  size_t qname_size = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  Edns edns;

  std::string_view name() const { return {reinterpret_cast<const char*>(qname), qname_size}; }
  // The largest answer this client takes over UDP (RFC 6891 §6.2.5: at least 512).
  size_t max_udp_answer() const { return edns.present && edns.udp_size > 512 ? edns.udp_size : 512; }
};

enum class QueryVerdict { ok, drop, formerr, notimp, notify, badvers };

struct QueryCheck {
  QueryVerdict verdict = QueryVerdict::drop;
  ParsedQuery query;
};

QueryCheck check_query(Bytes packet);

// Reads the question at offset 12 into `out` (name, type, class, question_end).
bool read_question(Bytes packet, ParsedQuery& out);

}  // namespace diresolver::dns
