// Validation: judging one DI server's answer, and a round's verdicts.
#include <doctest/doctest.h>

#include "dns/name.hpp"
#include "packets.hpp"
#include "readiness/report.hpp"

using namespace diresolver;

namespace {

const std::string zone = "acme.amer.wxc-di.webex.com.";

std::vector<uint8_t> reply(ldns_pkt_rcode rcode, std::vector<std::string> answers,
                           std::vector<std::string> authority = {}) {
  return test::reply_wire(zone, LDNS_RR_TYPE_SOA, rcode, answers, authority);
}

CheckResult judge(const std::vector<uint8_t>& answer, uint32_t rtt_ms = 1) {
  return judge_answer(answer, zone_name_to_wire(zone), rtt_ms, 500);
}

const std::string soa_data = " 300 IN SOA ns1.acme.amer.wxc-di.webex.com. admin.example. 1 7200 900 1209600 300";

}  // namespace

TEST_CASE("a DI server's answer is judged by what it says about the customer's domain") {
  // Error RCODEs first, as live traffic classifies them; YXDOMAIN is an answer there but no pass here.
  CHECK(judge(reply(LDNS_RCODE_SERVFAIL, {})) == CheckResult::servfail);
  CHECK(judge(reply(LDNS_RCODE_FORMERR, {})) == CheckResult::servfail);
  CHECK(judge(reply(LDNS_RCODE_YXDOMAIN, {zone + soa_data})) == CheckResult::servfail);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {"ACME.amer.wxc-di.webex.com." + soa_data})) == CheckResult::ok);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {zone + soa_data}), 900) == CheckResult::slow);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {"cucm.acme.amer.wxc-di.webex.com. 300 IN A 10.0.0.1"})) == CheckResult::ok);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {}, {zone + soa_data})) == CheckResult::ok);  // NODATA from the zone itself
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {}, {"wxc-di.webex.com." + soa_data})) == CheckResult::wrong_region);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {"acme.emea.wxc-di.webex.com." + soa_data})) == CheckResult::wrong_region);
  CHECK(judge(reply(LDNS_RCODE_NXDOMAIN, {}, {"wxc-di.webex.com." + soa_data})) == CheckResult::wrong_customer);
  CHECK(judge(reply(LDNS_RCODE_REFUSED, {})) == CheckResult::refused);
  CHECK(judge(reply(LDNS_RCODE_SERVFAIL, {})) == CheckResult::servfail);
  auto truncated = reply(LDNS_RCODE_NOERROR, {});  // TC=1, nothing in it: the TCP check judges the content
  truncated[2] |= 0x02;
  CHECK(judge(truncated) == CheckResult::ok);
  CHECK(judge(truncated, 900) == CheckResult::slow);
  CHECK(judge(reply(LDNS_RCODE_NOERROR, {})) == CheckResult::wrong_region);  // the same, not truncated
  auto broken = reply(LDNS_RCODE_NOERROR, {zone + soa_data});
  broken.resize(broken.size() - 3);
  CHECK(judge(broken) == CheckResult::malformed);
  CHECK(judge_error(UpstreamError::timeout) == CheckResult::timeout);
  CHECK(judge_error(UpstreamError::network) == CheckResult::network);
  CHECK(judge_error(UpstreamError::mismatched) == CheckResult::malformed);
}

TEST_CASE("a region validates with one good server, degraded, and fails with none") {
  auto line = [](const char* server, const char* transport, CheckResult r) {
    return CheckLine{server, std::string(server) == "IAD" ? "127.0.0.11:53" : "127.0.0.12:53", transport, "@ SOA", r,
                     1};
  };
  RegionReport both{"amer",
                    zone,
                    {line("IAD", "udp", CheckResult::ok), line("IAD", "tcp", CheckResult::slow),
                     line("DFW", "udp", CheckResult::ok), line("DFW", "tcp", CheckResult::ok)}};
  CHECK(both.state() == RegionState::validated);
  RegionReport one{"amer",
                   zone,
                   {line("IAD", "udp", CheckResult::ok), line("IAD", "tcp", CheckResult::ok),
                    line("DFW", "udp", CheckResult::ok), line("DFW", "tcp", CheckResult::timeout)}};
  CHECK(one.state() == RegionState::degraded);
  CHECK(one.servers_passing() == 1);
  RegionReport none{"eu",
                    "acme.eu.wxc-di.webex.com.",
                    {line("IAD", "udp", CheckResult::refused), line("DFW", "udp", CheckResult::timeout)}};
  CHECK(none.state() == RegionState::failed);

  ValidationReport report{{both, one}};
  CHECK(report.passed());
  CHECK(report.reasons() == "amer: DFW 127.0.0.12:53 timeout");
  CHECK(report.text().find("PASS: every region validates") != std::string::npos);
  report.regions.push_back(none);
  CHECK_FALSE(report.passed());
  CHECK(report.text().find("FAIL: ") != std::string::npos);
  CHECK(report.json().find("\"state\": \"failed\"") != std::string::npos);
  CHECK_FALSE(ValidationReport{}.passed());
}
