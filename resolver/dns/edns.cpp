#include "dns/edns.hpp"

#include <algorithm>

#include "dns/records.hpp"

namespace diresolver::dns {

namespace {

constexpr uint16_t option_ede = 15;

void append_u16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

}  // namespace

void append_own_opt(std::vector<uint8_t>& out, bool do_bit, Rcode rcode, std::optional<Ede> ede) {
  out.push_back(0);  // the root owns it
  append_u16(out, type_opt);
  append_u16(out, own_udp_size);
  out.push_back(static_cast<uint8_t>(static_cast<uint16_t>(rcode) >> 4));  // the RCODE's upper 8 bits
  out.push_back(0);                                                        // version
  append_u16(out, do_bit ? 0x8000 : 0);
  append_u16(out, ede ? 6 : 0);
  if (ede) {
    append_u16(out, option_ede);
    append_u16(out, 2);
    append_u16(out, static_cast<uint16_t>(*ede));
  }
}

void write_upstream_query(Bytes client_packet, const ParsedQuery& query, std::vector<uint8_t>& out) {
  out.assign(client_packet.begin(), client_packet.begin() + static_cast<long>(query.question_end));
  write_u16(out.data(), 0);
  write_u16(out.data() + 2, flag::rd | (query.flags & flag::cd));
  write_u16(out.data() + 4, 1);
  write_u16(out.data() + 6, 0);
  write_u16(out.data() + 8, 0);
  write_u16(out.data() + 10, 1);
  append_own_opt(out, query.edns.do_bit);
}

std::optional<size_t> without_opt(std::span<uint8_t> answer, size_t question_end) {
  unsigned first_additional = unsigned{ancount_of(answer)} + nscount_of(answer);
  std::optional<RecordView> opt;
  for_each_record(answer, question_end, [&opt](const RecordView& r) {
    if (r.type == type_opt && !opt) opt = r;
    return true;
  });
  if (!opt) return answer.size();
  if (opt->index < first_additional || (opt->ttl >> 24)) return std::nullopt;
  write_u16(answer.data() + 10, static_cast<uint16_t>(opt->index - first_additional));
  return opt->owner;
}

namespace {

constexpr size_t max_message = 65535;  // a TCP length prefix's reach
constexpr size_t opt_size = 11, ede_size = 6;

// No room for diresolver's OPT: first the EDE goes; failing that, the
// records, and TC=1 says the answer was cut (it came from upstream within
// 65535 bytes, so only our own OPT can push it over).
void make_room_for_opt(std::vector<uint8_t>& answer, const ParsedQuery& client, std::optional<Ede>& ede) {
  if (ede && answer.size() + opt_size + ede_size > max_message) ede.reset();
  if (answer.size() + opt_size <= max_message) return;
  answer.resize(client.question_end);
  for (size_t count_at : {6, 8, 10}) write_u16(answer.data() + count_at, 0);
  write_u16(answer.data() + 2, flags_of(answer) | flag::tc);
}

}  // namespace

void finish_answer(std::vector<uint8_t>& answer, Bytes client_packet, const ParsedQuery& client,
                   std::optional<Ede> ede) {
  if (client.edns.present) make_room_for_opt(answer, client, ede);
  set_id(answer, client.id);
  std::copy_n(client_packet.begin() + header_size, client.question_end - header_size, answer.begin() + header_size);
  uint16_t kept_from_answer = flags_of(answer) & (flag::opcode_mask | flag::tc | flag::rcode_mask);
  uint16_t kept_from_client = client.flags & (flag::rd | flag::cd);
  write_u16(answer.data() + 2, flag::qr | flag::ra | kept_from_answer | kept_from_client);
  if (!client.edns.present) return;
  write_u16(answer.data() + 10, static_cast<uint16_t>(arcount_of(answer) + 1));
  append_own_opt(answer, client.edns.do_bit, Rcode::noerror, ede);
}

}  // namespace diresolver::dns
