// The health of one upstream server as a pure state machine: no clock, no
// sockets, no locks. Probes and live traffic both feed it results; it says
// when the server goes down (after `fall` consecutive failures) or comes back
// up (after `rise` consecutive successes). A server starts up, so traffic
// flows at once; the readiness gate, not health, decides when to trust it.
#pragma once

#include <optional>

#include "upstream/outcome.hpp"

namespace diresolver {

struct HealthSettings {
  unsigned fall = 3;
  unsigned rise = 2;
};

enum class HealthTransition { none, went_down, went_up };

class HealthState {
 public:
  explicit HealthState(HealthSettings settings) : settings_(settings) {}

  void set_settings(HealthSettings settings) { settings_ = settings; }  // takes effect from the next result
  HealthTransition record_success();
  HealthTransition record_failure(UpstreamError error);

  bool up() const { return up_; }
  unsigned consecutive_failures() const { return failures_; }
  unsigned consecutive_successes() const { return successes_; }
  std::optional<UpstreamError> last_failure() const { return last_failure_; }

 private:
  HealthSettings settings_;
  bool up_ = true;
  unsigned failures_ = 0;
  unsigned successes_ = 0;
  std::optional<UpstreamError> last_failure_;
};

}  // namespace diresolver
