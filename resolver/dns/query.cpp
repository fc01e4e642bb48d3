#include "dns/query.hpp"

#include "dns/records.hpp"

namespace diresolver::dns {

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

// The OPT record, if any (RFC 6891 §6.1.1: one, in the additional section, owned by the root).
bool note_opt(Bytes m, const RecordView& record, ParsedQuery& q) {
  if (record.type != type_opt) return true;
  unsigned first_additional = unsigned{ancount_of(m)} + nscount_of(m);
  if (record.index < first_additional || q.edns.present || record.fields != record.owner + 1) return false;
  q.edns.present = true;
  q.edns.udp_size = read_u16(m.data() + record.fields + 2);
  q.edns.do_bit = (record.ttl & 0x8000) != 0;
  q.edns.version = static_cast<uint8_t>(record.ttl >> 16);
  return true;
}

// Types that only make sense inside a transaction or a message, never as a question.
bool meta_type(uint16_t qtype) {
  constexpr uint16_t opt = 41, tkey = 249, tsig = 250, mailb = 253, maila = 254;
  return qtype == opt || qtype == tkey || qtype == tsig || qtype == mailb || qtype == maila;
}

// Everything is read: what may not go on.
QueryVerdict judge(const ParsedQuery& query, unsigned opcode) {
  constexpr unsigned query_opcode = 0, notify_opcode = 4;
  if (opcode == notify_opcode) return QueryVerdict::notify;
  if (opcode != query_opcode) return QueryVerdict::notimp;
  if ((query.flags & flag::tc) || meta_type(query.qtype)) return QueryVerdict::formerr;
  if (query.edns.present && query.edns.version > 0) return QueryVerdict::badvers;
  return QueryVerdict::ok;
}

}  // namespace

QueryCheck check_query(Bytes packet) {
  QueryCheck out;
  if (packet.size() < header_size) return out;  // nothing to answer to
  out.query.id = id_of(packet);
  out.query.flags = flags_of(packet);
  if (out.query.flags & flag::qr) return out;  // a response: answering could loop
  if (qdcount_of(packet) == 1) read_question(packet, out.query);
  out.verdict = QueryVerdict::formerr;
  auto& query = out.query;
  if (query.question_end == 0 ||
      !for_each_record(packet, query.question_end, [&](const RecordView& r) { return note_opt(packet, r, query); })) {
    if (opcode_of(packet) != 0) out.verdict = QueryVerdict::notimp;  // what we cannot parse we do not implement
    return out;
  }
  out.verdict = judge(query, opcode_of(packet));
  return out;
}

}  // namespace diresolver::dns
