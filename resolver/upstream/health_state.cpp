#include "upstream/health_state.hpp"

namespace diresolver {

HealthTransition HealthState::record_success() {
  failures_ = 0;
  ++successes_;
  if (!up_ && successes_ >= settings_.rise) {
    up_ = true;
    return HealthTransition::went_up;
  }
  return HealthTransition::none;
}

HealthTransition HealthState::record_failure(UpstreamError error) {
  successes_ = 0;
  ++failures_;
  last_failure_ = error;
  if (up_ && failures_ >= settings_.fall) {
    up_ = false;
    return HealthTransition::went_down;
  }
  return HealthTransition::none;
}

}  // namespace diresolver
