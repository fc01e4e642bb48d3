#include "dns/query.hpp"

namespace diresolver::dns {

std::optional<size_t> skip_name(Bytes m, size_t pos) {
  // A name has at most 128 labels; more steps than that means a pointer loop.
  for (int steps = 0; steps < 128 && pos < m.size(); ++steps) {
    uint8_t len = m[pos];
    if (len == 0) return pos + 1;
    if ((len & 0xc0) == 0xc0) return pos + 2 <= m.size() ? std::optional(pos + 2) : std::nullopt;
    if (len & 0xc0) return std::nullopt;  // the reserved 0x40/0x80 label types
    pos += 1 + len;
  }
  return std::nullopt;
}

std::optional<NameRead> read_name_lower(Bytes m, size_t pos, uint8_t (&out)[max_name_size]) {
  size_t size = 0;
  while (pos < m.size()) {
    uint8_t len = m[pos];
    if (len & 0xc0) return std::nullopt;
    if (size + 1 + len > max_name_size || pos + 1 + len > m.size()) return std::nullopt;
    out[size++] = len;
    if (len == 0) return NameRead{pos + 1, size};
    for (size_t i = 0; i < len; ++i) {
      uint8_t c = m[pos + 1 + i];
      out[size++] = (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c;
    }
    pos += 1 + len;
  }
  return std::nullopt;
}

bool read_question(Bytes packet, ParsedQuery& out) {
  auto name = read_name_lower(packet, header_size, out.qname);
  if (!name || name->end + 4 > packet.size()) return false;
  out.qname_size = name->size;
  out.qtype = read_u16(packet.data() + name->end);
  out.qclass = read_u16(packet.data() + name->end + 2);
  out.question_end = name->end + 4;
  return true;
}

namespace {

enum class RecordsResult { ok, malformed };

// Walks the answer, authority and additional sections, noting the OPT record.
RecordsResult walk_records(Bytes m, size_t pos, ParsedQuery& q) {
  unsigned total = ancount_of(m) + nscount_of(m) + arcount_of(m);
  unsigned first_additional = ancount_of(m) + nscount_of(m);
  for (unsigned i = 0; i < total; ++i) {
    auto name_start = pos;
    auto after_name = skip_name(m, pos);
    if (!after_name || *after_name + 10 > m.size()) return RecordsResult::malformed;
    const uint8_t* fixed = m.data() + *after_name;
    uint16_t type = read_u16(fixed);
    size_t rdlength = read_u16(fixed + 8);
    pos = *after_name + 10 + rdlength;
    if (pos > m.size()) return RecordsResult::malformed;
    if (type != type_opt) continue;
    // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
    if (i < first_additional || q.edns.present || *after_name != name_start + 1)
      return RecordsResult::malformed;
    q.edns.present = true;
    q.edns.udp_size = read_u16(fixed + 2);
    q.edns.do_bit = (read_u32(fixed + 4) & 0x8000) != 0;
  }
  return pos == m.size() ? RecordsResult::ok : RecordsResult::malformed;
}

}  // namespace

QueryCheck check_query(Bytes packet) {
  QueryCheck out;
  if (packet.size() < header_size) return out;  // nothing to answer to
  out.query.id = id_of(packet);
  out.query.flags = flags_of(packet);
  if (out.query.flags & flag::qr) return out;  // a response: answering could loop
  if (qdcount_of(packet) == 1) read_question(packet, out.query);
  if (opcode_of(packet) != 0) {
    out.verdict = QueryVerdict::notimp;
    return out;
  }
  out.verdict = QueryVerdict::formerr;
  if (out.query.question_end == 0) return out;
  if (walk_records(packet, out.query.question_end, out.query) != RecordsResult::ok) return out;
  out.verdict = QueryVerdict::ok;
  return out;
}

}  // namespace diresolver::dns
