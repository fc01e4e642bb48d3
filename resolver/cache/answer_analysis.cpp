#include "cache/answer_analysis.hpp"

#include <algorithm>
#include <limits>

#include "dns/query.hpp"

namespace diresolver {

namespace {

constexpr uint16_t type_soa = 6;
constexpr uint32_t no_ttl = std::numeric_limits<uint32_t>::max();

struct Walk {
  uint32_t min_ttl = no_ttl;      // answer + authority records
  uint32_t negative_ttl = no_ttl; // from the authority SOA
};

// Walks all records after the question; false if the packet is malformed or too big to track.
bool walk(dns::Bytes m, size_t pos, AnswerAnalysis& out, Walk& w) {
  unsigned answer = dns::ancount_of(m), authority = dns::nscount_of(m);
  unsigned total = answer + authority + dns::arcount_of(m);
  for (unsigned i = 0; i < total; ++i) {
    auto name_end = dns::skip_name(m, pos);
    if (!name_end || *name_end + 10 > m.size()) return false;
    const uint8_t* fixed = m.data() + *name_end;
    uint16_t type = dns::read_u16(fixed);
    uint32_t ttl = dns::read_u32(fixed + 4);
    size_t rdlength = dns::read_u16(fixed + 8);
    size_t end = *name_end + 10 + rdlength;
    if (end > m.size()) return false;
    if (type == dns::type_opt) {
      out.opt_offset = static_cast<uint16_t>(pos);
      out.opt_is_last = (i + 1 == total);
    } else {
      if (out.ttl_count == max_cached_records) return false;
      out.ttl_offsets[out.ttl_count++] = static_cast<uint16_t>(*name_end + 4);
      if (i < answer + authority) w.min_ttl = std::min(w.min_ttl, ttl);
      if (type == type_soa && i >= answer && i < answer + authority && rdlength >= 20)
        w.negative_ttl = std::min(ttl, dns::read_u32(m.data() + end - 4));  // SOA MINIMUM is last
    }
    pos = end;
  }
  return pos == m.size();
}

}  // namespace

AnswerAnalysis analyze_answer(dns::Bytes answer, const CacheSettings& s) {
  AnswerAnalysis out;
  if (answer.size() < dns::header_size || answer.size() > 65535 || dns::is_truncated(answer)) return out;
  dns::ParsedQuery question;
  if (dns::qdcount_of(answer) != 1 || !dns::read_question(answer, question)) return out;
  Walk w;
  if (!walk(answer, question.question_end, out, w)) return out;
  auto rcode = dns::rcode_of(answer);
  if (rcode == dns::Rcode::servfail) {
    out.ttl = s.servfail_ttl;
  } else if (rcode == dns::Rcode::nxdomain || (rcode == dns::Rcode::noerror && dns::ancount_of(answer) == 0)) {
    out.negative = true;
    out.ttl = w.negative_ttl == no_ttl ? 0 : std::min(w.negative_ttl, s.max_negative_ttl);
  } else if (rcode == dns::Rcode::noerror) {
    out.ttl = std::clamp(w.min_ttl, s.min_ttl, s.max_ttl);
  }
  out.cacheable = out.ttl > 0;
  return out;
}

}  // namespace diresolver
