// Test packets built with ldns, independently of the code under test.
#pragma once

#include <ldns/ldns.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace diresolver::test {

inline std::vector<uint8_t> to_wire(ldns_pkt* pkt) {
  uint8_t* data = nullptr;
  size_t size = 0;
  ldns_pkt2wire(&data, pkt, &size);
  std::vector<uint8_t> out(data, data + size);
  free(data);
  ldns_pkt_free(pkt);
  return out;
}

inline ldns_pkt* new_query(const std::string& name, ldns_rr_type type, uint16_t id) {
  ldns_pkt* pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(pkt, id);
  return pkt;
}

inline std::vector<uint8_t> query_wire(const std::string& name, ldns_rr_type type = LDNS_RR_TYPE_A,
                                       uint16_t id = 0x1234, int edns_size = 0, bool do_bit = false) {
  ldns_pkt* pkt = new_query(name, type, id);
  if (edns_size) {
    ldns_pkt_set_edns_udp_size(pkt, static_cast<uint16_t>(edns_size));
    ldns_pkt_set_edns_do(pkt, do_bit);
    ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 0, ""));
  }
  return to_wire(pkt);
}

// An answer to `name` A with `count` address records.
inline std::vector<uint8_t> answer_wire(const std::string& name, uint16_t id, int count = 1) {
  ldns_pkt* pkt = new_query(name, LDNS_RR_TYPE_A, id);
  ldns_pkt_set_qr(pkt, true);
  for (int i = 0; i < count; ++i) {
    ldns_rr* rr = nullptr;
    std::string text = name + " 300 IN A 192.0.2." + std::to_string(i % 250 + 1);
    ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
    ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  }
  return to_wire(pkt);
}

// An answer to qname/qtype with `rcode` and records given as text
// ("name ttl IN TYPE data"), optionally with an OPT of `edns` bytes.
inline std::vector<uint8_t> reply_wire(const std::string& qname, ldns_rr_type qtype, ldns_pkt_rcode rcode,
                                       const std::vector<std::string>& answers,
                                       const std::vector<std::string>& authority = {}, int edns = 0) {
  ldns_pkt* pkt = new_query(qname, qtype, 7);
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_rcode(pkt, static_cast<uint8_t>(rcode));
  auto push = [&](ldns_pkt_section section, const std::string& text) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK)
      ldns_pkt_push_rr(pkt, section, rr);
  };
  for (const auto& a : answers) push(LDNS_SECTION_ANSWER, a);
  for (const auto& a : authority) push(LDNS_SECTION_AUTHORITY, a);
  if (edns) {
    ldns_pkt_set_edns_udp_size(pkt, static_cast<uint16_t>(edns));
    ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, 0, ""));
  }
  return to_wire(pkt);
}

}  // namespace diresolver::test
