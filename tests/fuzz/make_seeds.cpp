// The packet fuzz targets' own seeds, built with ldns as the unit tests build
// their packets (tests/unit/packets.hpp), so a clone without ../shared/fuzz-corpus
// still starts from messages that reach deep into the code:
//
//   make_seeds OUTDIR     writes OUTDIR/queries/* and OUTDIR/answers/*
//
// Queries: DI, SRV and other names and types, with and without EDNS (DO, a
// cookie, a version above 0), NOTIFY and other opcodes, TC, CHAOS, zone
// transfers. Answers: the DI service's kinds (A, AAAA, SRV with compressed
// targets, CNAME chains, SOA), NXDOMAIN and NODATA with an SOA, SERVFAIL,
// REFUSED, TC, answers with the upstream's OPT (and an EDE), and two large
// ones as TCP brings them (about 16 KiB and close to 64 KiB).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// After the standard headers: clang reads libstdc++'s __is_signed as a name only then.
#include <ldns/ldns.h>

namespace {

std::filesystem::path out_dir;
int written = 0;

void write_seed(const std::string& kind, const std::string& name, ldns_pkt* pkt) {
  uint8_t* data = nullptr;
  size_t size = 0;
  if (ldns_pkt2wire(&data, pkt, &size) != LDNS_STATUS_OK) {
    std::fprintf(stderr, "make_seeds: %s/%s: ldns_pkt2wire failed\n", kind.c_str(), name.c_str());
    std::exit(1);
  }
  std::ofstream(out_dir / kind / name, std::ios::binary).write(reinterpret_cast<const char*>(data), static_cast<long>(size));
  free(data);
  ldns_pkt_free(pkt);
  ++written;
}

ldns_pkt* query(const std::string& name, ldns_rr_type type, uint16_t id, ldns_rr_class cls = LDNS_RR_CLASS_IN) {
  ldns_pkt* pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(name.c_str()), type, cls, LDNS_RD);
  ldns_pkt_set_id(pkt, id);
  return pkt;
}

// EDNS with `udp_size`, DO, version and raw option bytes.
void edns(ldns_pkt* pkt, uint16_t udp_size, bool do_bit = false, uint8_t version = 0,
          const std::vector<uint8_t>& options = {}) {
  ldns_pkt_set_edns_udp_size(pkt, udp_size);
  ldns_pkt_set_edns_do(pkt, do_bit);
  ldns_pkt_set_edns_version(pkt, version);
  ldns_pkt_set_edns_data(pkt, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_UNKNOWN, options.size(), options.data()));
}

void push(ldns_pkt* pkt, ldns_pkt_section section, const std::string& text) {
  ldns_rr* rr = nullptr;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
    std::fprintf(stderr, "make_seeds: bad record text: %s\n", text.c_str());
    std::exit(1);
  }
  ldns_pkt_push_rr(pkt, section, rr);
}

ldns_pkt* answer(const std::string& name, ldns_rr_type type, ldns_pkt_rcode rcode,
                 const std::vector<std::string>& answers, const std::vector<std::string>& authority = {},
                 const std::vector<std::string>& additional = {}) {
  ldns_pkt* pkt = query(name, type, 0x4d2);
  ldns_pkt_set_qr(pkt, true);
  ldns_pkt_set_ra(pkt, true);
  ldns_pkt_set_rcode(pkt, static_cast<uint8_t>(rcode));
  for (const auto& a : answers) push(pkt, LDNS_SECTION_ANSWER, a);
  for (const auto& a : authority) push(pkt, LDNS_SECTION_AUTHORITY, a);
  for (const auto& a : additional) push(pkt, LDNS_SECTION_ADDITIONAL, a);
  return pkt;
}

const std::string di = "acme.amer.wxc-di.webex.com.";
const std::string soa = di + " 3600 IN SOA ns1." + di + " hostmaster." + di + " 2024010101 7200 900 1209600 300";

void queries() {
  write_seed("queries", "a", query(di, LDNS_RR_TYPE_A, 1));
  write_seed("queries", "srv-uds", query("_cisco-uds._tcp." + di, LDNS_RR_TYPE_SRV, 2));
  write_seed("queries", "soa-mixed-case", query("AcMe.AMER.wxc-DI.webex.COM.", LDNS_RR_TYPE_SOA, 3));
  write_seed("queries", "root-ns", query(".", LDNS_RR_TYPE_NS, 4));
  auto* q = query("www.example.com.", LDNS_RR_TYPE_AAAA, 5);
  edns(q, 1232);
  write_seed("queries", "aaaa-edns", q);
  q = query(di, LDNS_RR_TYPE_SOA, 6);
  edns(q, 4096, true);
  ldns_pkt_set_cd(q, true);
  write_seed("queries", "soa-do-cd", q);
  q = query(di, LDNS_RR_TYPE_A, 7);
  edns(q, 1232, false, 0, {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});  // a client cookie
  write_seed("queries", "a-cookie", q);
  q = query(di, LDNS_RR_TYPE_A, 8);
  edns(q, 1232, false, 1);
  write_seed("queries", "edns-version-1", q);
  q = query(di, LDNS_RR_TYPE_SOA, 9);
  ldns_pkt_set_opcode(q, LDNS_PACKET_NOTIFY);
  ldns_pkt_set_aa(q, true);
  write_seed("queries", "notify", q);
  q = query(di, LDNS_RR_TYPE_A, 10);
  ldns_pkt_set_opcode(q, LDNS_PACKET_STATUS);
  write_seed("queries", "opcode-status", q);
  q = query(di, LDNS_RR_TYPE_A, 11);
  ldns_pkt_set_tc(q, true);
  write_seed("queries", "tc", q);
  write_seed("queries", "axfr", query(di, LDNS_RR_TYPE_AXFR, 12));
  write_seed("queries", "any", query(di, LDNS_RR_TYPE_ANY, 13));
  write_seed("queries", "chaos-version", query("version.bind.", LDNS_RR_TYPE_TXT, 14, LDNS_RR_CLASS_CH));
  write_seed("queries", "tsig-type", query(di, LDNS_RR_TYPE_TSIG, 15));
  q = query(di, LDNS_RR_TYPE_A, 16);
  ldns_pkt_set_rd(q, false);
  write_seed("queries", "no-rd", q);
}

void answers() {
  write_seed("answers", "a", answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                                    {di + " 300 IN A 10.1.1.10", di + " 300 IN A 10.1.1.11"},
                                    {di + " 3600 IN NS ns1." + di}, {"ns1." + di + " 3600 IN A 10.1.1.53"}));
  write_seed("answers", "aaaa", answer("cucm1." + di, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR,
                                       {"cucm1." + di + " 120 IN AAAA 2001:db8::10"}));
  write_seed("answers", "srv-uds",
             answer("_cisco-uds._tcp." + di, LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR,
                    {"_cisco-uds._tcp." + di + " 600 IN SRV 10 10 8443 cucm1." + di,
                     "_cisco-uds._tcp." + di + " 600 IN SRV 20 10 8443 cucm2." + di},
                    {}, {"cucm1." + di + " 600 IN A 10.1.1.21", "cucm2." + di + " 600 IN A 10.1.1.22"}));
  write_seed("answers", "cname-chain",
             answer("www.example.com.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR,
                    {"www.example.com. 60 IN CNAME edge.example.net.", "edge.example.net. 30 IN CNAME e1.example.net.",
                     "e1.example.net. 20 IN A 192.0.2.7"}));
  write_seed("answers", "mx-ptr-txt",
             answer("example.com.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR,
                    {"example.com. 300 IN MX 10 mail.example.com.", "example.com. 300 IN TXT \"v=spf1 -all\""},
                    {}, {"7.2.0.192.in-addr.arpa. 300 IN PTR mail.example.com."}));
  write_seed("answers", "soa", answer(di, LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, {soa}));
  write_seed("answers", "nxdomain", answer("nope." + di, LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, {}, {soa}));
  write_seed("answers", "nodata", answer(di, LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, {}, {soa}));
  write_seed("answers", "servfail", answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, {}));
  write_seed("answers", "refused", answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, {}));
  auto* a = answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {});
  ldns_pkt_set_tc(a, true);
  write_seed("answers", "tc", a);
  a = answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, {di + " 300 IN A 10.1.1.10"});
  edns(a, 1232, true);
  write_seed("answers", "a-with-opt", a);
  a = answer(di, LDNS_RR_TYPE_A, LDNS_RCODE_SERVFAIL, {});
  edns(a, 1232, false, 0, {0, 15, 0, 2, 0, 22});  // EDE 22, No Reachable Authority
  write_seed("answers", "servfail-ede", a);
  a = answer(di, LDNS_RR_TYPE_DS, LDNS_RCODE_NOERROR,
             {di + " 3600 IN DS 12345 13 2 3490A6806D47F17A34C29E2CE80E8A999FFBE4BE4EA2B4D1A6E9F03F3F3C2D5E"});
  edns(a, 1232, true);
  write_seed("answers", "ds-do", a);
  // What TCP brings: many records, up to the 64 KiB a message may have.
  std::vector<std::string> txt;
  std::string chunk(250, 'x');
  for (int i = 0; i < 16; ++i) txt.push_back(di + " 300 IN TXT \"" + chunk + "\" \"" + chunk + "\" \"" + chunk + "\" \"" + chunk + "\"");
  write_seed("answers", "txt-16k", answer(di, LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, txt));
  txt.clear();
  for (int i = 0; i < 63; ++i)
    txt.push_back(di + " 300 IN TXT \"" + chunk + "\" \"" + chunk + "\" \"" + chunk + "\" \"" + chunk + "\"");
  write_seed("answers", "txt-63k", answer(di, LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR, txt));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUTDIR\n");
    return 2;
  }
  out_dir = argv[1];
  std::filesystem::create_directories(out_dir / "queries");
  std::filesystem::create_directories(out_dir / "answers");
  queries();
  answers();
  std::printf("make_seeds: %d seeds in %s\n", written, out_dir.c_str());
  return 0;
}
