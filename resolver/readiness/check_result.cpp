#include "readiness/check_result.hpp"

#include <ldns/ldns.h>

#include <memory>

namespace diresolver {

std::string_view advice(CheckResult r) {
  switch (r) {
    case CheckResult::ok: return "answers for the customer's domain";
    case CheckResult::slow: return "answers, but slowly: check the peering link's latency";
    case CheckResult::timeout:
      return "no answer: peering link down or a firewall in the way (DNS needs UDP and TCP 53)";
    case CheckResult::network: return "connection refused or unreachable: routing or firewall (UDP and TCP 53)";
    case CheckResult::refused: return "REFUSED: the DI side does not accept queries from this source address";
    case CheckResult::wrong_customer: return "NXDOMAIN for the customer's domain: check `customer`";
    case CheckResult::wrong_region:
      return "answers, but not for the customer's domain (NODATA or another zone): check `regions`";
    case CheckResult::servfail: return "SERVFAIL: the DI server has a problem of its own";
    case CheckResult::malformed: return "the answer did not parse or did not match the question";
  }
  return "";
}

CheckResult judge_error(UpstreamError error) {
  switch (error) {
    case UpstreamError::timeout: return CheckResult::timeout;
    case UpstreamError::network:
    case UpstreamError::local: return CheckResult::network;
    case UpstreamError::refused: return CheckResult::refused;
    case UpstreamError::servfail: return CheckResult::servfail;
    case UpstreamError::malformed:
    case UpstreamError::mismatched: return CheckResult::malformed;
  }
  return CheckResult::malformed;
}

namespace {

bool owner_inside(const ldns_rr_list* records, const ldns_rdf* zone) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(records); ++i) {
    const ldns_rdf* owner = ldns_rr_owner(ldns_rr_list_rr(records, i));
    if (ldns_dname_compare(owner, zone) == 0 || ldns_dname_is_subdomain(owner, zone)) return true;
  }
  return false;
}

}  // namespace

CheckResult judge_answer(dns::Bytes answer, std::string_view zone, uint32_t rtt_ms, uint32_t slow_ms) {
  auto rcode = dns::rcode_of(answer);
  if (auto failure = failure_in_answer(rcode)) return judge_error(*failure);
  // An answer, but the DI domain should exist: NXDOMAIN means the customer label is wrong.
  if (rcode == dns::Rcode::nxdomain) return CheckResult::wrong_customer;
  // YXDOMAIN answers a DNAME that overflowed: no DI server should say that of its own zone.
  if (rcode != dns::Rcode::noerror) return CheckResult::servfail;
  // Cut short (TC=1, over UDP): the server answered, and what it says takes TCP,
  // which the set's TCP check asks and judges. A DI server whose answers all
  // need TCP is no wrong region.
  if (dns::is_truncated(answer)) return rtt_ms > slow_ms ? CheckResult::slow : CheckResult::ok;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, answer.data(), answer.size()) != LDNS_STATUS_OK) return CheckResult::malformed;
  std::unique_ptr<ldns_pkt, decltype(&ldns_pkt_free)> pkt(raw, &ldns_pkt_free);
  std::unique_ptr<ldns_rdf, decltype(&ldns_rdf_free)> zone_rdf(
      ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, zone.size(), zone.data()), &ldns_rdf_deep_free);
  // ldns compares owner names case-insensitively only after canonicalising.
  for (auto* list : {ldns_pkt_answer(pkt.get()), ldns_pkt_authority(pkt.get())}) ldns_rr_list2canonical(list);
  bool about_zone = owner_inside(ldns_pkt_answer(pkt.get()), zone_rdf.get()) ||
                    owner_inside(ldns_pkt_authority(pkt.get()), zone_rdf.get());
  if (!about_zone) return CheckResult::wrong_region;
  return rtt_ms > slow_ms ? CheckResult::slow : CheckResult::ok;
}

}  // namespace diresolver
