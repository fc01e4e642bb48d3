#include "readiness/address_verdict.hpp"

namespace diresolver {

AddressVerdict address_verdict(const ReadinessView& readiness, const std::optional<std::string>& hung) {
  if (!readiness.ready) return {false, "not ready: " + readiness.detail};
  if (hung) return {false, "hung: " + *hung};
  if (readiness.degraded) return {true, "degraded (the DI side, not this node): " + readiness.detail};
  return {true, "ready: " + readiness.detail};
}

}  // namespace diresolver
