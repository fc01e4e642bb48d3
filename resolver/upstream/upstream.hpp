// One upstream server as every thread sees it: identity, health and RTT.
//
// Workers read `is_up()` and the RTT through atomics on every query and never
// wait on each other. Results that can change the state (any failure, or a
// success while the server is down or has failures pending) take the
// server's mutex; a success on a healthy server is lock-free. The caller
// logs the transitions that report() returns.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "net/address.hpp"
#include "upstream/health_state.hpp"
#include "upstream/rtt_estimator.hpp"
#include "util/clock.hpp"

namespace diresolver {

enum class ResultSource { traffic, probe };

struct ProbeRecord {
  std::optional<UpstreamError> error;  // nullopt: the probe succeeded
  int64_t at_ms = 0;
};

struct HealthSnapshot {
  bool up;
  unsigned consecutive_failures;
  unsigned consecutive_successes;
  std::optional<UpstreamError> last_failure;
  std::optional<ProbeRecord> last_probe;
  int64_t last_change_ms;
};

class Upstream {
 public:
  Upstream(unsigned id, std::string name, SockAddr address, std::string zone, HealthSettings health);
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  unsigned id() const { return id_; }  // index into per-worker server counters
  const std::string& name() const { return name_; }
  const SockAddr& address() const { return address_; }
  const std::string& zone() const { return zone_; }

  bool is_up() const { return up_.load(std::memory_order_relaxed); }
  uint32_t srtt_us(int64_t now_ms) const { return rtt_.srtt_us(now_ms); }

  HealthTransition report_success(ResultSource source, uint32_t rtt_us, int64_t now_ms);
  HealthTransition report_failure(ResultSource source, UpstreamError error, int64_t now_ms);
  void note_timeout(uint32_t waited_us, int64_t now_ms) { rtt_.add_lower_bound(waited_us, now_ms); }
  HealthSnapshot snapshot() const;
  void set_health_settings(HealthSettings settings);  // a reload's new fall/rise
  std::string describe() const;                       // "IAD 127.0.0.11:53 of acme.amer.wxc-di.webex.com."

 private:
  HealthTransition settle(HealthTransition transition, int64_t now_ms);

  unsigned id_;
  std::string name_;
  SockAddr address_;
  std::string zone_;
  RttEstimator rtt_;
  std::atomic<bool> up_{true};
  std::atomic<bool> clean_{true};  // up with no failures pending: successes need no lock
  mutable std::mutex mutex_;
  HealthState state_;
  std::optional<ProbeRecord> last_probe_;
  int64_t last_change_ms_ = 0;
};

}  // namespace diresolver
