// The readiness gate. Cisco's rule is that devices must not register until
// conditional forwarding to the DI DNS works, so diresolver does not present
// itself as a working resolver until it has proved it is one.
//
// Until the first validation round passes: no READY=1 (STATUS= says why),
// /readyz 503, and DI queries are answered SERVFAIL with EDE 14 (Not Ready)
// instead of guesses; other names flow. After that the gate stays open: a
// failed re-validation is *degraded* (logged, in /readyz's body, metrics and
// the on_degraded hook) while DI queries keep flowing, because a DI-side
// outage hits every instance at once and closing them all would turn a blip
// into a site-wide outage. READY=1 is never withdrawn.
//
// Degraded has one meaning everywhere (/readyz, diresolver_degraded, `check`,
// the dashboard): the gate is open, but some DI server is not doing its job:
// the last validation round failed it, or health has marked it down. The
// health part is read live, so /readyz and the metric change when a server is
// marked down, not at the next validation round.
#pragma once

#include <uv.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "readiness/validator.hpp"
#include "util/log.hpp"
#include "uv/handle.hpp"

namespace diresolver {

// What the admin pages and the metrics show of the gate.
struct ReadinessView {
  bool ready = false;     // the gate is open
  bool degraded = false;  // open, but a DI server fails validation or is marked down
  std::string detail;     // why, in one line
  int64_t last_success_unix = 0;
  std::map<std::string, bool> region_ok;
  std::array<uint64_t, enum_count<CheckResult>> failures{};  // failed checks, by result
};

class ReadinessGate {
 public:
  // Validation rounds use the control loop's transport kit.
  ReadinessGate(uv_loop_t* loop, TransportKit& transport, std::function<RuntimePtr()> runtime);
  ~ReadinessGate();
  ReadinessGate(const ReadinessGate&) = delete;
  ReadinessGate& operator=(const ReadinessGate&) = delete;

  void start();  // the first round at once
  void stop();
  // Workers read this before forwarding a DI query.
  const std::atomic<bool>& di_open() const { return di_open_; }

  // For civetweb's threads.
  ReadinessView view() const;

 private:
  static void on_timer(uv_timer_t* timer) noexcept;
  void run_round();
  void on_report(const ValidationReport& report);
  void seed_regions();
  void record(const ValidationReport& report);
  void log_state(log::Level level, const std::string& state, const std::string& detail);
  std::string di_servers_down() const;  // "IAD 10.0.0.1:53 (amer) marked down; ...", or 
  void schedule();

  uv_loop_t* loop_;
  TransportKit& transport_;
  std::function<RuntimePtr()> runtime_;
  std::atomic<bool> di_open_{false};
  std::unique_ptr<Validator> validator_;  // the round in flight (or the last one)
  uv::Handle<uv_timer_t> timer_;
  std::string last_logged_;  // log_state()'s last line

  mutable std::mutex mutex_;  // guards what the admin threads read below
  bool degraded_ = false;  // the last round failed, after the gate had opened
  bool short_ = false;     // the last round passed, but not every DI server did
  std::string reasons_ = "validation has not run yet";
  int64_t last_success_unix_ = 0;
  std::map<std::string, bool> region_ok_;
  std::array<uint64_t, enum_count<CheckResult>> failures_{};
};

}  // namespace diresolver
