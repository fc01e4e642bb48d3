// Whether this node should hold the site's service address: the one answer
// keepalived's track script (`diresolver status --for address`), BIRD's health
// loop and `/readyz?for=address` all read, so no script re-derives it.
//
// Give it up when this node cannot serve: never validated (not ready), or an
// event loop hung. Keep it when only degraded: a DI-side outage is every
// node's, and if each gave the address up at once the site would lose the
// cached and stale answers that all of them can still give.
#pragma once

#include <optional>
#include <string>

#include "readiness/gate.hpp"

namespace diresolver {

struct AddressVerdict {
  bool hold = false;
  std::string reason;
  std::string line() const { return (hold ? "hold: " : "give up: ") + reason; }
};

AddressVerdict address_verdict(const ReadinessView& readiness, const std::optional<std::string>& hung);

}  // namespace diresolver
