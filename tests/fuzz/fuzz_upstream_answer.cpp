// Fuzz target "upstream_answer": any bytes as an upstream's answer to a query
// diresolver forwarded, followed along the miss path and the cache.
//
// The query is the input's own question when it has one a client could have
// had forwarded (class IN, not a zone transfer or meta type), else a fixed
// one (www.example.com A, which such inputs then do not answer). It is asked
// by two clients: one without EDNS whose question has another case (0x20),
// and one with EDNS, DO as the input's AD bit says; CD as the input's CD bit.
// For each: dns::check_upstream_answer() with the input's ID as the one sent;
// if it passes, dns::without_opt() (exchange_judge.cpp); then the relay a
// waiting client gets (dns::finish_answer); then PacketCache::store and
// lookups at several clock values, fresh, expired and stale (a fresh cache
// for each input), each served answer finished for the client (EDE 3 when
// stale) and truncated (dns::make_truncated); last, flush_name empties it.
//
// Invariants (wire_check.hpp, and below): every message made for the client
// is at most 65535 bytes, carries the client's ID and its question (byte for
// byte: the client's case), has at most one OPT (exactly one for the EDNS
// client, none for the other); the relay and the cache serve the upstream's
// records unchanged but for their TTLs (owner and RDATA names read through
// their pointers, type, class, RDATA bytes), fresh TTLs at most the entry's
// lifetime and stale ones stale_ttl; where ldns reads the answer as received
// (without its OPT) faithfully, every record to the end its RDLENGTH gives,
// every message made from it parses with ldns_wire2pkt and ldns reads the same
// records in it (ldns_rr_compare); a cacheable answer is found after store,
// with the status its age gives it, and flush_name removes it cleanly.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/packet_cache.hpp"
#include "dns/edns.hpp"
#include "dns/response.hpp"
#include "wire_check.hpp"

using namespace diresolver;
using fuzz::violation;

namespace {

constexpr int64_t t0 = 1'000'000'000;  // ms; any monotonic base

// www.example.com A IN
constexpr uint8_t fixed_question[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                                      0, 1, 0, 1};

struct Client {
  const char* label;
  std::vector<uint8_t> wire;
  dns::ParsedQuery parsed;
  fuzz::Bytes question() const { return fuzz::Bytes(wire).subspan(12, parsed.question_end - 12); }
  unsigned opts() const { return parsed.edns.present ? 1 : 0; }
};

// The input's question, if the query path would have forwarded it.
fuzz::Bytes forwardable_question(fuzz::Bytes input) {
  constexpr uint16_t ixfr = 251, axfr = 252;
  dns::ParsedQuery q;
  if (input.size() < dns::header_size || dns::qdcount_of(input) != 1 || !dns::read_question(input, q)) return {};
  if (q.qclass != dns::class_in || q.qtype == axfr || q.qtype == ixfr) return {};
  return input.subspan(dns::header_size, q.question_end - dns::header_size);
}

std::optional<Client> make_client(const char* label, fuzz::Bytes question, uint16_t id, bool cd, bool edns,
                                  bool do_bit, bool other_case) {
  Client c{label, {}, {}};
  c.wire = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, static_cast<uint8_t>(cd ? 0x10 : 0),
            0, 1, 0, 0, 0, 0, 0, static_cast<uint8_t>(edns ? 1 : 0)};
  c.wire.insert(c.wire.end(), question.begin(), question.end());
  if (other_case) {
    bool flip = true;
    for (size_t i = 12; i < c.wire.size() - 4; ++i) {
      uint8_t& ch = c.wire[i];
      if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ch = static_cast<uint8_t>(flip ? ch ^ 0x20 : ch), flip = !flip;
    }
  }
  if (edns) {
    const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, static_cast<uint8_t>(do_bit ? 0x80 : 0), 0, 0, 0};
    c.wire.insert(c.wire.end(), std::begin(opt), std::end(opt));
  }
  auto check = dns::check_query(c.wire);
  if (check.verdict != dns::QueryVerdict::ok) return std::nullopt;  // a meta type: never forwarded
  c.parsed = check.query;
  return c;
}

struct Reference {
  std::vector<fuzz::RecordText> records;  // the answer as received, without its OPT, read by wire_check.hpp
  fuzz::Pkt pkt;                          // and by ldns, when ldns reads it faithfully (else null)
};

// The records of `served` are the upstream's (names read through their pointers, type, class, RDATA), in
// order, then only the client's OPT; TTLs as `ttl_ok` says. Checked by our walk and, where ldns reads the
// upstream's answer faithfully, by ldns too (ldns_rr_compare ignores TTLs).
template <class TtlOk>
void same_records(fuzz::Bytes served, const Reference& ref, const std::string& what, TtlOk ttl_ok) {
  auto walked = fuzz::walk(served);
  auto got = fuzz::record_texts(served, walked);
  if (!got) violation(served, "%s: a name in its records does not read", what.c_str());
  if (got->size() < ref.records.size())
    violation(served, "%s: %zu records, the upstream's answer has %zu", what.c_str(), got->size(), ref.records.size());
  for (size_t i = 0; i < ref.records.size(); ++i) {
    const auto &a = (*got)[i], &b = ref.records[i];
    if (!(a == b))
      violation(served, "%s: record %zu changed: serves \"%s\" for the upstream's \"%s\"", what.c_str(), i,
                a.text().c_str(), b.text().c_str());
    if (!ttl_ok(a.ttl, b.ttl))
      violation(served, "%s: record %zu served with TTL %u (upstream: %u)", what.c_str(), i, a.ttl, b.ttl);
  }
  for (size_t i = ref.records.size(); i < got->size(); ++i)
    if ((*got)[i].type != dns::type_opt || i + 1 != got->size())
      violation(served, "%s: record %zu (%s) added to the upstream's", what.c_str(), i, (*got)[i].text().c_str());
  if (!ref.pkt) return;
  auto pkt = fuzz::ldns_parse(served);
  if (!pkt) violation(served, "%s: ldns_wire2pkt fails on it, not on the upstream's answer", what.c_str());
  auto ldns_got = fuzz::records_of(pkt.get()), ldns_want = fuzz::records_of(ref.pkt.get());
  if (ldns_got.size() != ldns_want.size())
    violation(served, "%s: ldns reads %zu records, %zu in the upstream's answer", what.c_str(), ldns_got.size(),
              ldns_want.size());
  for (size_t i = 0; i < ldns_got.size(); ++i) {
    if (ldns_rr_compare(ldns_got[i], ldns_want[i]) == 0) continue;
    char* a = ldns_rr2str(ldns_got[i]);
    char* b = ldns_rr2str(ldns_want[i]);
    std::string served_text = a ? a : "?", upstream_text = b ? b : "?";
    free(a);
    free(b);
    violation(served, "%s: ldns reads record %zu changed: \"%s\" for the upstream's \"%s\"", what.c_str(), i,
              served_text.c_str(), upstream_text.c_str());
  }
}

// A message for the client: finished (dns::finish_answer), then cut for a small UDP client.
template <class TtlOk>
void check_for_client(std::vector<uint8_t> message, const Client& c, const Reference& ref,
                      std::optional<dns::Ede> ede, const std::string& what, TtlOk ttl_ok) {
  // An answer with no room left for diresolver's OPT within 65535 bytes goes out as its header and
  // question with TC=1 (the client retries elsewhere or does without): finish_answer's make_room_for_opt.
  bool no_room = c.parsed.edns.present && message.size() + 11 > 65535;
  dns::finish_answer(message, c.wire, c.parsed, ede);
  std::string finished = what + ", finish_answer for " + c.label;
  bool ldns_must_parse = ref.pkt != nullptr;
  fuzz::check_message(message, {finished.c_str(), c.parsed.id, c.question(), true, c.opts(), ldns_must_parse});
  if (!no_room) {
    same_records(message, ref, finished, ttl_ok);
  } else if (!(message[2] & 0x02) || fuzz::u16_at(message, 6) != 0 || fuzz::u16_at(message, 8) != 0 ||
             fuzz::u16_at(message, 10) != 1) {
    violation(message, "%s: no room for the OPT in 65535 bytes, but not cut to its question with TC=1",
              finished.c_str());
  }
  auto cut = dns::make_truncated(message, c.parsed);
  std::string truncated = "make_truncated of " + finished;
  fuzz::check_message(cut, {truncated.c_str(), c.parsed.id, c.question(), true, c.opts(), ldns_must_parse});
  if (!(cut[2] & 0x02)) violation(cut, "%s: TC is not set", truncated.c_str());
}

const char* status_name(CacheStatus s) {
  switch (s) {
    case CacheStatus::miss: return "miss";
    case CacheStatus::hit: return "hit";
    case CacheStatus::stale: return "stale";
    case CacheStatus::expired: return "expired";
  }
  return "?";
}

void through_cache(fuzz::Bytes answer, const Client& c, const Reference& ref) {
  CacheSettings settings;
  settings.shards = 1;
  settings.servfail_ttl = 60;  // SERVFAIL answers are stored too: another path through analysis
  PacketCache cache(settings);
  auto key = make_cache_key(c.parsed);
  auto analysis = analyze_answer(answer, settings);
  cache.store(key, answer, t0);
  auto found = cache.peek(key, t0);
  if (found != (analysis.cacheable ? CacheStatus::hit : CacheStatus::miss))
    violation(answer, "store: peek says %s right after storing an answer that %s cacheable", status_name(found),
              analysis.cacheable ? "is" : "is not");
  if (!analysis.cacheable) return;

  int64_t lifetime = int64_t{analysis.ttl} * 1000, stale_max = int64_t{settings.stale_max} * 1000;
  const int64_t ages[] = {0, 999, 1000, lifetime / 2, lifetime - 1, lifetime, lifetime + 1001,
                          lifetime + stale_max, lifetime + stale_max + 1};
  std::vector<uint8_t> out;
  for (int64_t age : ages) {
    for (bool allow_stale : {false, true}) {
      auto result = cache.lookup(key, c.wire, c.parsed, t0 + age, allow_stale, out);
      CacheStatus want = age < lifetime                ? CacheStatus::hit
                         : age > lifetime + stale_max ? CacheStatus::miss
                         : allow_stale                 ? CacheStatus::stale
                                                       : CacheStatus::expired;
      if (result.status != want)
        violation(answer, "lookup %lld ms after store (lifetime %u s, allow_stale %d): %s, expected %s",
                  static_cast<long long>(age), analysis.ttl, allow_stale, status_name(result.status),
                  status_name(want));
      if (want != CacheStatus::hit && want != CacheStatus::stale) continue;
      bool stale = want == CacheStatus::stale;
      std::string what = std::string("cache ") + (stale ? "stale" : "hit") + " at +" + std::to_string(age) + " ms";
      // As the cache hands it over, before finish_answer: no OPT, the client's ID and question.
      fuzz::check_message(out, {what.c_str(), c.parsed.id, c.question(), true, 0u, ref.pkt != nullptr});
      uint32_t lifetime_s = analysis.ttl, stale_ttl = settings.stale_ttl;
      auto ttl_ok = [=](uint32_t served, uint32_t) { return stale ? served == stale_ttl : served <= lifetime_s; };
      same_records(out, ref, what, ttl_ok);
      check_for_client(out, c, ref, stale ? std::optional(dns::Ede::stale_answer) : std::nullopt, what, ttl_ok);
    }
  }
  if (cache.flush_name(key.name) != 1 || cache.stats().entries != 0 || cache.stats().bytes != 0)
    violation(answer, "flush_name: the entry is not removed cleanly (%llu entries, %llu bytes left)",
              static_cast<unsigned long long>(cache.stats().entries),
              static_cast<unsigned long long>(cache.stats().bytes));
}

void answer_path(fuzz::Bytes input, const Client& c) {
  std::vector<uint8_t> answer(input.begin(), input.end());
  if (dns::check_upstream_answer(answer, dns::id_of(input), c.parsed) != dns::AnswerCheck::ok) return;
  auto size = dns::without_opt(answer, c.parsed.question_end);
  if (!size) return;
  if (*size > answer.size()) violation(input, "without_opt: size %zu beyond the answer's %zu", *size, answer.size());
  answer.resize(*size);
  auto walked = fuzz::walk(answer);
  if (!walked.ok || walked.opt_count != 0)
    violation(answer, "without_opt: the answer it leaves %s", walked.ok ? "still has an OPT" : "does not parse");
  auto records = fuzz::record_texts(answer, walked);
  if (!records) violation(answer, "check_upstream_answer passed an answer whose names do not read");
  // ldns compares some RDATA names case-sensitively, and names pointing into the question take the
  // client's case when it is copied in: ldns's reference is the answer with the client's question.
  auto as_client_asked = answer;
  std::copy(c.wire.begin() + 12, c.wire.begin() + static_cast<long>(c.parsed.question_end), as_client_asked.begin() + 12);
  Reference ref{std::move(*records),
                fuzz::ldns_faithful(answer, walked) ? fuzz::ldns_parse(as_client_asked) : nullptr};
  // The relay a waiting client gets: records and TTLs as the upstream sent them.
  check_for_client(answer, c, ref, std::nullopt, "relay", [](uint32_t served, uint32_t sent) { return served == sent; });
  through_cache(answer, c, ref);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Bytes input(data, size);
  if (size < dns::header_size) return 0;
  fuzz::Bytes question = forwardable_question(input);
  if (question.empty()) question = fixed_question;
  uint16_t id = dns::id_of(input);
  bool cd = input[3] & 0x10, do_bit = input[3] & 0x20;
  auto plain = make_client("a client without EDNS (another case)", question, static_cast<uint16_t>(~id), cd, false,
                           false, true);
  auto edns = make_client("an EDNS client", question, static_cast<uint16_t>(id ^ 0x5a5a), cd, true, do_bit, false);
  if (plain) answer_path(input, *plain);
  if (edns) answer_path(input, *edns);
  return 0;
}
