#include "cache/answer_analysis.hpp"

#include <algorithm>
#include <limits>

#include "dns/query.hpp"
#include "dns/records.hpp"

namespace diresolver {

namespace {

constexpr uint16_t type_soa = 6;
constexpr uint32_t no_ttl = std::numeric_limits<uint32_t>::max();

struct Walk {
  uint32_t min_ttl = no_ttl;       // answer + authority records
  uint32_t negative_ttl = no_ttl;  // from the authority SOA
};

// Notes one record's TTL offset; false when there are too many to track, or an OPT.
bool note(dns::Bytes m, const dns::RecordView& r, AnswerAnalysis& out, Walk& w) {
  unsigned answer = dns::ancount_of(m), authority = dns::nscount_of(m);
  if (r.type == dns::type_opt || out.ttl_count == max_cached_records) return false;
  out.ttl_offsets[out.ttl_count++] = static_cast<uint16_t>(r.fields + 4);
  if (r.index < answer + authority) w.min_ttl = std::min(w.min_ttl, r.ttl);
  if (r.type == type_soa && r.index >= answer && r.index < answer + authority && r.rdlength >= 20)
    w.negative_ttl = std::min(r.ttl, dns::read_u32(m.data() + r.end() - 4));  // SOA MINIMUM is last
  return true;
}

}  // namespace

AnswerAnalysis analyze_answer(dns::Bytes answer, const CacheSettings& s) {
  AnswerAnalysis out;
  if (answer.size() < dns::header_size || answer.size() > 65535 || dns::is_truncated(answer)) return out;
  dns::ParsedQuery question;
  if (dns::qdcount_of(answer) != 1 || !dns::read_question(answer, question)) return out;
  Walk w;
  if (!dns::for_each_record(answer, question.question_end,
                            [&](const dns::RecordView& r) { return note(answer, r, out, w); }))
    return out;
  // TTLs are rewritten in place on every hit: no name may read through one.
  if (!dns::pointers_land_on_names(answer, question.question_end)) return out;
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
