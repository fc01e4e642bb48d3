// The records after a message's question (RFC 1035 §4.1.3), walked in place.
//
// One walk serves every reader: the query check (finding the OPT record), the
// upstream answer check, and the cache (finding TTL offsets). The walk fails
// when anything would be read past the end, a label type is reserved, a
// compression pointer does not point strictly backwards (RFC 1035 §4.1.4
// allows earlier occurrences only; this also rules out loops), a name is longer
// than 255 octets, or bytes are left after the last record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dns/wire.hpp"

namespace diresolver::dns {

// The offset just after a well-formed name at `pos` (following its pointers).
std::optional<size_t> check_name(Bytes m, size_t pos);

struct RecordView {
  unsigned index;  // counted across answer, authority and additional sections
  size_t owner;    // offset of the owner name
  size_t fields;   // offset of TYPE, just after the owner name
  uint16_t type;
  uint32_t ttl;
  size_t rdata;  // offset of RDATA
  size_t rdlength;
  size_t end() const { return rdata + rdlength; }
};

// Calls visit(record) for each record from `pos` on; false if the records do
// not parse or visit returns false for one.
template <class Visit>
bool for_each_record(Bytes m, size_t pos, Visit&& visit) {
  unsigned total = unsigned{ancount_of(m)} + nscount_of(m) + arcount_of(m);
  for (unsigned i = 0; i < total; ++i) {
    auto fields = check_name(m, pos);
    if (!fields || *fields + 10 > m.size()) return false;
    const uint8_t* f = m.data() + *fields;
    RecordView record{i, pos, *fields, read_u16(f), read_u32(f + 4), *fields + 10, read_u16(f + 8)};
    if (record.end() > m.size() || !visit(record)) return false;
    pos = record.end();
  }
  return pos == m.size();
}

// Whether every compression pointer lands on a label of a name read before it
// (the question, an owner, a name in the RDATA of a type whose names a reader
// decompresses: NS, MX, SOA, MINFO, RRSIG, ...): RFC 1035
// means pointers to names, but the walk only demands that they point back,
// and a pointer into, say, a TTL field would read a different name once the
// cache rewrites that TTL. Call on a message for_each_record accepted.
bool pointers_land_on_names(Bytes m, size_t question_end);

// Whether the RDATA of the types an answer to a DI client carries has the
// shape its type demands (A, AAAA, NS, CNAME, SOA, PTR, MX, SRV); other types
// are only bounded by RDLENGTH, as a forwarder passes them on untouched.
bool rdata_well_formed(Bytes m, const RecordView& record);

}  // namespace diresolver::dns
