// One vocabulary for what went wrong with an upstream attempt. It drives the
// failover decision, the counters, and (later) health and metric labels.
#pragma once

#include <string_view>

namespace diresolver {

enum class UpstreamError {
  timeout,     // no valid answer within the attempt timeout
  network,     // could not send, connect, or the connection broke (ICMP unreachable included)
  refused,     // the server answered REFUSED
  servfail,    // the server answered SERVFAIL
  malformed,   // the answer matched our query but did not parse
  mismatched,  // only wrong-ID / wrong-question / wrong-source packets arrived
};

constexpr std::string_view to_string(UpstreamError e) {
  switch (e) {
    case UpstreamError::timeout: return "timeout";
    case UpstreamError::network: return "network";
    case UpstreamError::refused: return "refused";
    case UpstreamError::servfail: return "servfail";
    case UpstreamError::malformed: return "malformed";
    case UpstreamError::mismatched: return "mismatched";
  }
  return "unknown";
}

}  // namespace diresolver
