// One vocabulary for what an upstream server did with a query. Live traffic
// (forward/), health probes (health/) and validation (readiness/) all read an
// answer through failure_in_answer() and name failures with UpstreamError, so
// "failed" means the same thing to health, the metrics' `reason` label, the
// logs and `diresolver check`.
#pragma once

#include <optional>

#include "dns/wire.hpp"
#include "util/enum_names.hpp"

namespace diresolver {

enum class UpstreamError {
  timeout,     // no valid answer within the attempt timeout
  network,     // could not send, connect, or the connection broke (ICMP unreachable included)
  refused,     // the server answered REFUSED
  servfail,    // the server answered SERVFAIL, or another error RCODE (FORMERR, NOTIMP, ...)
  malformed,   // the answer matched our query but did not parse
  mismatched,  // only wrong-ID / wrong-question / wrong-source packets arrived
  local,       // this host could not ask (out of file descriptors, shutting down): health ignores it
};
template <>
inline constexpr auto enum_names<UpstreamError> = names("timeout", "network", "refused", "servfail", "malformed",
                                                        "mismatched", "local");
static_assert(check_enum_names(UpstreamError::local));

// What a well-formed answer that matches the question says about its server:
// nullopt when the server answered the question (NOERROR, NXDOMAIN, YXDOMAIN
// are the truth about the name), else the failure. REFUSED is `refused`;
// SERVFAIL and every other error RCODE are `servfail`: the server could not
// answer, and the next one is asked (Unbound throws such answers away too).
constexpr std::optional<UpstreamError> failure_in_answer(dns::Rcode rcode) {
  switch (rcode) {
    case dns::Rcode::noerror:
    case dns::Rcode::nxdomain:
    case dns::Rcode::yxdomain: return std::nullopt;
    case dns::Rcode::refused: return UpstreamError::refused;
    default: return UpstreamError::servfail;
  }
}

}  // namespace diresolver
