#include "dns/response.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "dns/edns.hpp"
#include "dns/records.hpp"

namespace diresolver::dns {

namespace {

// Header + question of `source` with the given flags; counts set for what follows.
std::vector<uint8_t> header_and_question(Bytes source, const ParsedQuery& parsed, uint16_t flags, bool with_opt) {
  size_t question_end = parsed.question_end ? parsed.question_end : header_size;
  std::vector<uint8_t> out(source.begin(), source.begin() + static_cast<long>(question_end));
  write_u16(out.data() + 2, flags);
  write_u16(out.data() + 4, parsed.question_end ? 1 : 0);
  write_u16(out.data() + 6, 0);
  write_u16(out.data() + 8, 0);
  write_u16(out.data() + 10, with_opt ? 1 : 0);
  return out;
}

}  // namespace

std::vector<uint8_t> make_reply(Bytes query, const ParsedQuery& parsed, Reply reply) {
  uint16_t kept = parsed.flags & (flag::opcode_mask | flag::rd | flag::cd);
  uint16_t ra = reply.recursion_available ? flag::ra : 0;
  uint16_t flags = kept | flag::qr | ra | (static_cast<uint16_t>(reply.rcode) & flag::rcode_mask);
  auto out = header_and_question(query, parsed, flags, parsed.edns.present);
  set_id(out, parsed.id);
  if (parsed.edns.present) append_own_opt(out, parsed.edns.do_bit, reply.rcode, reply.ede);
  return out;
}

std::vector<uint8_t> make_truncated(Bytes answer, const ParsedQuery& parsed) {
  auto out = header_and_question(answer, parsed, flags_of(answer) | flag::tc, parsed.edns.present);
  if (parsed.edns.present) append_own_opt(out, parsed.edns.do_bit);
  return out;
}

std::vector<uint8_t> make_query(const std::string& name_wire, uint16_t type) {
  std::vector<uint8_t> out(header_size + name_wire.size(), 0);
  write_u16(out.data() + 2, flag::rd);
  write_u16(out.data() + 4, 1);
  std::copy(name_wire.begin(), name_wire.end(), out.begin() + header_size);
  out.push_back(static_cast<uint8_t>(type >> 8));
  out.push_back(static_cast<uint8_t>(type));
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(class_in));
  return out;
}

AnswerCheck check_upstream_answer(Bytes answer, uint16_t sent_id, const ParsedQuery& query) {
  if (answer.size() < header_size || id_of(answer) != sent_id) return AnswerCheck::mismatched;
  uint16_t flags = flags_of(answer);
  if (!(flags & flag::qr) || (flags & flag::opcode_mask) != (query.flags & flag::opcode_mask))
    return AnswerCheck::mismatched;
  ParsedQuery echoed;
  if (qdcount_of(answer) != 1 || !read_question(answer, echoed)) return AnswerCheck::mismatched;
  if (echoed.name() != query.name() || echoed.qtype != query.qtype || echoed.qclass != query.qclass)
    return AnswerCheck::mismatched;
  bool well_formed = for_each_record(answer, echoed.question_end,
                                     [answer](const RecordView& record) { return rdata_well_formed(answer, record); });
  return well_formed ? AnswerCheck::ok : AnswerCheck::malformed;
}

}  // namespace diresolver::dns
