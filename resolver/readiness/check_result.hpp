// One validation check's verdict, and what it tells a network admin.
//
// judge_answer() reads a DI server's answer to a validation query as live
// traffic would (failure_in_answer), then asks more: it must be NOERROR and
// say something about the customer's own DI domain (a record at
// or below it in the answer or authority section). The other outcomes name
// the likely fault: REFUSED (the DI side does not accept this source),
// NXDOMAIN (wrong customer name), an answer about something else or NODATA
// (wrong region), SERVFAIL, garbage, and silence (peering link or firewall).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dns/wire.hpp"
#include "upstream/outcome.hpp"
#include "util/enum_names.hpp"

namespace diresolver {

enum class CheckResult { ok, slow, timeout, network, refused, wrong_customer, wrong_region, servfail, malformed };
template <>
inline constexpr auto enum_names<CheckResult> = names("ok", "slow", "timeout", "network", "refused", "wrong_customer",
                                                      "wrong_region", "servfail", "malformed");
static_assert(check_enum_names(CheckResult::malformed));

inline bool passes(CheckResult r) { return r == CheckResult::ok || r == CheckResult::slow; }
std::string_view advice(CheckResult r);  // one sentence for the report

// `zone` is the DI domain in lower-case wire form.
CheckResult judge_answer(dns::Bytes answer, std::string_view zone, uint32_t rtt_ms, uint32_t slow_ms);
CheckResult judge_error(UpstreamError error);

}  // namespace diresolver
