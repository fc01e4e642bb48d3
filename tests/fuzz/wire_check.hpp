// What the packet fuzz targets check about every message diresolver would
// send, independently of the code under test: ldns parses it (ldns_wire2pkt),
// and a small walk of its own (names followed through their pointers, every
// record bounded, no byte left over) reads its header, question and records.
//
// A broken invariant is a finding: violation() prints what broke and the
// message in hex, then aborts, so libFuzzer stops and saves the input that
// led there (build/fuzz/runs/<target>/findings/crash-*).
#pragma once

#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

// After the standard headers: clang reads libstdc++'s __is_signed as a name only then.
#include <ldns/ldns.h>

namespace diresolver::fuzz {

using Bytes = std::span<const uint8_t>;

[[noreturn]] inline void violation(Bytes message, const char* format, ...) __attribute__((format(printf, 2, 3)));

// Prints "INVARIANT VIOLATED: <what>" and the message (hex), then aborts.
inline void violation(Bytes message, const char* format, ...) {
  std::fprintf(stderr, "==%d== INVARIANT VIOLATED: ", static_cast<int>(getpid()));
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fprintf(stderr, "\n  message (%zu bytes):", message.size());
  for (size_t i = 0; i < message.size() && i < 4096; ++i)
    std::fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n    " : " ", message[i]);
  std::fprintf(stderr, "%s\n", message.size() > 4096 ? "\n    ..." : "");
  std::abort();
}

inline uint16_t u16_at(Bytes m, size_t pos) { return static_cast<uint16_t>(m[pos] << 8 | m[pos + 1]); }
inline uint32_t u32_at(Bytes m, size_t pos) { return uint32_t{u16_at(m, pos)} << 16 | u16_at(m, pos + 2); }

// ldns_pkt, owned.
struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

inline Pkt ldns_parse(Bytes m) {
  ldns_pkt* pkt = nullptr;
  if (ldns_wire2pkt(&pkt, m.data(), m.size()) != LDNS_STATUS_OK) return Pkt{};
  return Pkt{pkt};
}

// The walk of our own. A name ends at its root label or its first pointer;
// followed, it must stay inside the message, use only the two label types
// RFC 1035 defines, stay within 255 octets and not loop.
inline std::optional<size_t> skip_name(Bytes m, size_t pos) {
  std::optional<size_t> end;
  size_t length = 1, hops = 0;
  while (pos < m.size()) {
    uint8_t len = m[pos];
    if (len == 0) return end ? end : std::optional(pos + 1);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 2 > m.size() || ++hops > 127) return std::nullopt;
      if (!end) end = pos + 2;
      pos = static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1];
      continue;
    }
    if (len & 0xc0) return std::nullopt;
    length += 1 + len;
    if (length > 255) return std::nullopt;
    pos += 1 + len;
  }
  return std::nullopt;
}

struct Record {
  size_t owner, fields;
  uint16_t type;
  uint32_t ttl;
};

struct Walk {
  bool ok = false;
  size_t question_end = 0;
  std::vector<Record> records;
  unsigned opt_count = 0;
};

inline Walk walk(Bytes m) {
  Walk w;
  if (m.size() < 12) return w;
  size_t pos = 12;
  for (unsigned i = 0; i < u16_at(m, 4); ++i) {
    auto end = skip_name(m, pos);
    if (!end || *end + 4 > m.size()) return w;
    pos = *end + 4;
  }
  w.question_end = pos;
  unsigned total = unsigned{u16_at(m, 6)} + u16_at(m, 8) + u16_at(m, 10);
  for (unsigned i = 0; i < total; ++i) {
    auto fields = skip_name(m, pos);
    if (!fields || *fields + 10 > m.size()) return w;
    Record r{pos, *fields, u16_at(m, *fields), u32_at(m, *fields + 4)};
    size_t end = *fields + 10 + u16_at(m, *fields + 8);
    if (end > m.size()) return w;
    if (r.type == 41) ++w.opt_count;
    w.records.push_back(r);
    pos = end;
  }
  w.ok = pos == m.size();
  return w;
}

inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

// A name read through its pointers, lower case, labels joined by '.' (and
// escaped as \xNN where not printable); nullopt when skip_name fails on it.
inline std::optional<std::string> read_name(Bytes m, size_t pos) {
  if (!skip_name(m, pos)) return std::nullopt;
  std::string out;
  for (size_t hops = 0; hops < 128;) {
    uint8_t len = m[pos];
    if (len == 0) return out.empty() ? "." : out;
    if ((len & 0xc0) == 0xc0) {
      pos = static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1];
      ++hops;
      continue;
    }
    for (size_t i = 1; i <= len; ++i) {
      uint8_t c = lower(m[pos + i]);
      if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
        out += escaped;
      }
    }
    out += '.';
    pos += 1 + len;
  }
  return std::nullopt;
}

// One record as a client would read it: names through their pointers.
struct RecordText {
  std::string owner;
  uint16_t type = 0, rclass = 0;
  uint32_t ttl = 0;
  std::vector<std::string> rdata_names;  // NS, CNAME, PTR, MX, SRV, SOA: the names in their RDATA
  std::vector<uint8_t> rdata;            // as on the wire (pointers unresolved)
  bool operator==(const RecordText& o) const {
    return owner == o.owner && type == o.type && rclass == o.rclass && rdata_names == o.rdata_names && rdata == o.rdata;
  }
  std::string text() const {
    std::string out = owner + " type " + std::to_string(type) + " class " + std::to_string(rclass) + " ttl " +
                      std::to_string(ttl) + " rdlength " + std::to_string(rdata.size());
    for (const auto& n : rdata_names) out += " " + n;
    return out;
  }
};

// Every record of `m` (which walk() accepted) read that way; nullopt when a name in it does not read.
inline std::optional<std::vector<RecordText>> record_texts(Bytes m, const Walk& w) {
  std::vector<RecordText> out;
  for (const auto& r : w.records) {
    RecordText t;
    auto owner = read_name(m, r.owner);
    if (!owner) return std::nullopt;
    t.owner = *owner;
    t.type = r.type;
    t.rclass = u16_at(m, r.fields + 2);
    t.ttl = r.ttl;
    size_t rdata = r.fields + 10, end = rdata + u16_at(m, r.fields + 8);
    t.rdata.assign(m.begin() + static_cast<long>(rdata), m.begin() + static_cast<long>(end));
    auto name_at = [&](size_t pos) -> std::optional<size_t> {  // reads one RDATA name, returns where it ends
      auto name_end = skip_name(m.first(end), pos);
      auto name = read_name(m, pos);
      if (!name_end || !name) return std::nullopt;
      t.rdata_names.push_back(*name);
      return name_end;
    };
    bool ok = true;
    switch (r.type) {
      case 2: case 5: case 12: ok = name_at(rdata).has_value(); break;  // NS, CNAME, PTR
      case 15: ok = end >= rdata + 2 && name_at(rdata + 2); break;      // MX
      case 33: ok = end >= rdata + 6 && name_at(rdata + 6); break;      // SRV
      case 6: {                                                          // SOA: two names
        auto first = name_at(rdata);
        ok = first && name_at(*first);
        break;
      }
      default: break;
    }
    if (!ok) return std::nullopt;
    out.push_back(std::move(t));
  }
  return out;
}

// Whether ldns reads every record of `m` to the end its RDLENGTH gives. Where
// it does not (RDATA not shaped as ldns expects its type, which a forwarder
// passes on untouched), ldns's view of the message is not the one a
// comparison can rest on. Nor where `m` holds a TSIG record: ldns_wire2pkt
// takes it out of the additional section and then reads one record fewer.
inline bool ldns_faithful(Bytes m, const Walk& w) {
  constexpr uint16_t type_tsig = 250;
  if (!w.ok) return false;
  for (const auto& r : w.records) {
    if (r.type == type_tsig) return false;
    size_t pos = r.owner;
    ldns_rr* rr = nullptr;
    auto status = ldns_wire2rr(&rr, m.data(), m.size(), &pos, LDNS_SECTION_ANSWER);
    if (rr) ldns_rr_free(rr);
    if (status != LDNS_STATUS_OK || pos != r.fields + 10 + u16_at(m, r.fields + 8)) return false;
  }
  return true;
}

// What a message diresolver sends to a client must be.
struct Expect {
  const char* what;                // "make_reply(FORMERR)", "cache hit, finish_answer (EDNS)", ...
  uint16_t id;                     // the client's
  Bytes question;                  // the client's question bytes (name, type, class); empty: none
  bool exact_case = false;         // the question must be these bytes exactly, not only case-insensitively
  std::optional<unsigned> opts;    // how many OPT records exactly (else: at most one)
  bool ldns_must_parse = true;     // false when ldns rejects the input it was made from, too
};

// Checks `m` against `e`; returns the parsed packet (null when ldns_must_parse is false and ldns refused it).
inline Pkt check_message(Bytes m, const Expect& e) {
  if (m.size() > 65535) violation(m, "%s: %zu bytes, more than a DNS message may have (65535)", e.what, m.size());
  if (m.size() < 12) violation(m, "%s: shorter than a header", e.what);
  if (u16_at(m, 0) != e.id) violation(m, "%s: ID %04x, the client's is %04x", e.what, u16_at(m, 0), e.id);
  if (!(m[2] & 0x80)) violation(m, "%s: QR is not set", e.what);
  Walk w = walk(m);
  if (!w.ok) violation(m, "%s: its records do not parse (names, bounds, or bytes left over)", e.what);
  if (w.opt_count > 1) violation(m, "%s: %u OPT records", e.what, w.opt_count);
  if (e.opts && w.opt_count != *e.opts)
    violation(m, "%s: %u OPT records, expected %u", e.what, w.opt_count, *e.opts);
  if (e.question.empty()) {
    if (u16_at(m, 4) != 0) violation(m, "%s: a question where the client's had none", e.what);
  } else {
    if (u16_at(m, 4) != 1) violation(m, "%s: QDCOUNT %u", e.what, u16_at(m, 4));
    if (w.question_end - 12 != e.question.size())
      violation(m, "%s: the question is %zu bytes, the client's %zu", e.what, w.question_end - 12, e.question.size());
    for (size_t i = 0; i < e.question.size(); ++i) {
      uint8_t got = m[12 + i], want = e.question[i];
      if (e.exact_case ? got != want : lower(got) != lower(want))
        violation(m, "%s: question byte %zu is %02x, the client's %02x", e.what, i, got, want);
    }
  }
  Pkt pkt = ldns_parse(m);
  if (!pkt && e.ldns_must_parse) {
    ldns_pkt* raw = nullptr;
    auto status = ldns_wire2pkt(&raw, m.data(), m.size());
    violation(m, "%s: ldns_wire2pkt fails: %s", e.what, ldns_get_errorstr_by_id(status));
  }
  if (pkt && ldns_pkt_id(pkt.get()) != e.id) violation(m, "%s: ldns reads ID %04x", e.what, ldns_pkt_id(pkt.get()));
  return pkt;
}

// Every record of the answer, authority and additional sections, in order (ldns keeps the OPT apart).
inline std::vector<ldns_rr*> records_of(ldns_pkt* pkt) {
  std::vector<ldns_rr*> out;
  for (auto* list : {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt), ldns_pkt_additional(pkt)})
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) out.push_back(ldns_rr_list_rr(list, i));
  return out;
}

}  // namespace diresolver::fuzz
