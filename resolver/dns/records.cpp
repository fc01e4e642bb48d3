#include "dns/records.hpp"

#include <bitset>

namespace diresolver::dns {

std::optional<size_t> check_name(Bytes m, size_t pos) {
  std::optional<size_t> end;  // where the name ends in the record: after its first pointer, or its root label
  size_t length = 1;          // the root label's octet
  size_t lowest = pos;        // every pointer must go below everything read so far
  while (pos < m.size()) {
    uint8_t len = m[pos];
    if (len == 0) return end ? end : std::optional(pos + 1);
    if ((len & 0xc0) == 0xc0) {
      if (pos + 2 > m.size()) return std::nullopt;
      size_t target = static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1];
      if (target >= lowest || target < header_size) return std::nullopt;
      if (!end) end = pos + 2;
      pos = lowest = target;
      continue;
    }
    if (len & 0xc0) return std::nullopt;  // the reserved 0x40/0x80 label types
    length += 1 + len;
    if (length > max_name_size) return std::nullopt;
    pos += 1 + len;
  }
  return std::nullopt;
}

namespace {

// RDATA that is exactly `before` octets, a name, then `after` octets.
bool fixed_name_fixed(Bytes m, const RecordView& r, size_t before, size_t after) {
  if (r.rdlength < before + 1 + after) return false;
  auto name_end = check_name(m.first(r.end()), r.rdata + before);
  return name_end && *name_end + after == r.end();
}

}  // namespace

namespace {

// Marks the labels of the name at `pos` (until its first pointer, whose
// target must be marked already); false when a pointer lands elsewhere.
bool walk_name(Bytes m, size_t pos, std::bitset<65536>& label_starts) {
  while (pos < m.size()) {
    uint8_t len = m[pos];
    if ((len & 0xc0) == 0xc0)
      return pos + 1 < m.size() && label_starts[static_cast<size_t>(len & 0x3f) << 8 | m[pos + 1]];
    label_starts[pos] = true;
    if (len == 0) return true;
    pos += 1 + len;
  }
  return false;
}

// The name at `skip` bytes into the RDATA; false if the RDATA is too short to hold one.
bool walk_rdata_name(Bytes m, const RecordView& r, size_t skip, std::bitset<65536>& label_starts) {
  return r.rdata + skip < r.end() && walk_name(m, r.rdata + skip, label_starts);
}

// Two names in a row, `skip` bytes into the RDATA (SOA, MINFO, RP, PX).
bool walk_two_names(Bytes m, const RecordView& r, size_t skip, std::bitset<65536>& label_starts) {
  if (r.rdata + skip >= r.end()) return false;
  auto second = check_name(m.first(r.end()), r.rdata + skip);
  return second && walk_name(m, r.rdata + skip, label_starts) && walk_name(m, *second, label_starts);
}

// Every type whose RDATA names a reader such as ldns decompresses (RFC 1035's,
// and those RFC 3597 §4 says receivers must decompress): a pointer in any of
// them into a TTL field would read differently once the cache rewrites it.
bool walk_rdata_names(Bytes m, const RecordView& r, std::bitset<65536>& label_starts) {
  switch (r.type) {
    case 2:   // NS
    case 3:   // MD
    case 4:   // MF
    case 5:   // CNAME
    case 7:   // MB
    case 8:   // MG
    case 9:   // MR
    case 12:  // PTR
    case 39:  // DNAME
    case 47:  // NSEC: next owner name
      return walk_rdata_name(m, r, 0, label_starts);
    case 15:  // MX
    case 18:  // AFSDB
    case 21:  // RT
    case 36:  // KX: a 16-bit field, then a name
      return walk_rdata_name(m, r, 2, label_starts);
    case 33: return walk_rdata_name(m, r, 6, label_starts);   // SRV
    case 46: return walk_rdata_name(m, r, 18, label_starts);  // RRSIG: signer
    case 6:                                                    // SOA: mname, rname
    case 14:                                                   // MINFO: rmailbx, emailbx
    case 17:                                                   // RP: mbox, txt
      return walk_two_names(m, r, 0, label_starts);
    case 26: return walk_two_names(m, r, 2, label_starts);  // PX: map822, mapx400
    default: return true;
  }
}

}  // namespace

bool pointers_land_on_names(Bytes m, size_t question_end) {
  static thread_local std::bitset<65536> label_starts;  // 8 KiB: not on every caller's stack
  label_starts.reset();
  if (!walk_name(m, header_size, label_starts)) return false;
  return for_each_record(m, question_end, [&](const RecordView& r) {
    return walk_name(m, r.owner, label_starts) && walk_rdata_names(m, r, label_starts);
  });
}

bool rdata_well_formed(Bytes m, const RecordView& r) {
  switch (r.type) {
    case 1:  // A
      return r.rdlength == 4;
    case 28:  // AAAA
      return r.rdlength == 16;
    case 2:   // NS
    case 5:   // CNAME
    case 12:  // PTR
      return fixed_name_fixed(m, r, 0, 0);
    case 15:  // MX: preference, exchange
      return fixed_name_fixed(m, r, 2, 0);
    case 33:  // SRV: priority, weight, port, target
      return fixed_name_fixed(m, r, 6, 0);
    case 6: {  // SOA: mname, rname, five 32-bit fields
      auto mname_end = check_name(m.first(r.end()), r.rdata);
      if (!mname_end) return false;
      auto rname_end = check_name(m.first(r.end()), *mname_end);
      return rname_end && *rname_end + 20 == r.end();
    }
    default: return true;
  }
}

}  // namespace diresolver::dns
