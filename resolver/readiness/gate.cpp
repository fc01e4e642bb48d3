#include "readiness/gate.hpp"

#include "readiness/notifier.hpp"
#include "util/log.hpp"
#include "uv/boundary.hpp"
#include "util/clock.hpp"

namespace diresolver {

ReadinessGate::ReadinessGate(uv_loop_t* loop, TransportKit& transport, std::function<RuntimePtr()> runtime)
    : loop_(loop), transport_(transport), runtime_(std::move(runtime)) {
  if (uv_timer_init(loop_, timer_.get()) == 0) timer_.adopt(this);
}

ReadinessGate::~ReadinessGate() { stop(); }

void ReadinessGate::start() {
  if (!runtime_()->config.readiness.enabled) {
    di_open_.store(true);
    {
      std::lock_guard lock(mutex_);
      reasons_ = "validation disabled ([readiness] enabled = false)";
    }
    notify_ready("ready: validation disabled");
    log::info("readiness: ready (validation disabled)");
    return;
  }
  notify_status("validating forwarding to the DI DNS servers");
  run_round();
}

// Every DI region has a series from the start, so a region that never validates shows 0, not nothing.
void ReadinessGate::seed_regions() {
  auto runtime = runtime_();
  std::lock_guard lock(mutex_);
  for (const auto& set : runtime->sets)
    if (!set.region().empty()) region_ok_.try_emplace(set.region(), false);
}

void ReadinessGate::stop() {
  timer_.close();
  validator_.reset();
}

void ReadinessGate::on_timer(uv_timer_t* timer) noexcept {
  uv::at_boundary("ReadinessGate::on_timer", [&] {
    auto* self = uv::Handle<uv_timer_t>::owner_of<ReadinessGate>(timer);
    if (self) self->run_round();
  });
}

void ReadinessGate::run_round() {
  // The previous round has ended (its report came), and we are in a timer callback, not its own.
  seed_regions();  // a region added by a reload has a series before its first round ends
  validator_ = std::make_unique<Validator>(transport_, runtime_(), [this](const ValidationReport& r) { on_report(r); });
  validator_->start();
}

void ReadinessGate::schedule() {
  if (!timer_.is_open()) return;
  const auto& settings = runtime_()->config.readiness;
  uv_timer_start(timer_.get(), on_timer, di_open_.load() ? settings.interval_ms : settings.retry_ms, 0);
}

void ReadinessGate::on_report(const ValidationReport& report) {
  record(report);
  const auto& settings = runtime_()->config.readiness;
  bool was_open = di_open_.load(), was_degraded = degraded_;
  auto reasons = report.reasons();
  auto detail = reasons.empty() ? std::string("every DI server validates") : reasons;
  if (report.passed()) {
    di_open_.store(true);
    {
      std::lock_guard lock(mutex_);
      degraded_ = false;
    }
    // Open either way; a server that failed this round makes it degraded, as `check` says.
    std::string state = reasons.empty() ? "ready" : "degraded";
    if (!was_open)
      notify_ready(state + ": " + detail);
    else
      notify_status(state + ": " + detail);
    log_state(reasons.empty() ? log::Level::info : log::Level::warn, state, detail);
    if (!was_open || was_degraded) run_hook(loop_, settings.on_ready, "ready");
  } else if (was_open) {
    log_state(log::Level::warn, "degraded", detail);
    if (!was_degraded) run_hook(loop_, settings.on_degraded, "degraded");
    {
      std::lock_guard lock(mutex_);
      degraded_ = true;
    }
    notify_status("degraded: " + detail);
  } else {
    log_state(log::Level::warn, "not ready", detail);
    notify_status("not ready: " + detail);
  }
  schedule();
}

// A state is logged when it or its reasons change, not at every round: a
// start that cannot validate would otherwise repeat one line every retry_ms.
void ReadinessGate::log_state(log::Level level, const std::string& state, const std::string& detail) {
  auto line = log::join("readiness: ", state, " (", detail, ")");
  if (line == last_logged_) return;
  last_logged_ = line;
  log::write(level, line);
}

void ReadinessGate::record(const ValidationReport& report) {
  std::lock_guard lock(mutex_);
  reasons_ = report.reasons();
  short_ = report.passed() && !reasons_.empty();
  if (report.passed()) last_success_unix_ = unix_s();
  for (const auto& region : report.regions) {
    region_ok_[region.region] = region.state() != RegionState::failed;
    for (const auto& check : region.checks)
      if (!passes(check.result)) ++failures_[index_of(check.result)];
  }
}

ReadinessView ReadinessGate::view() const {
  auto down = di_servers_down();
  std::lock_guard lock(mutex_);
  bool open = di_open_.load();
  auto detail = reasons_.empty() ? std::string("every DI server validates") : reasons_;
  if (!down.empty()) detail = reasons_.empty() ? down : reasons_ + "; " + down;
  bool degraded = open && (degraded_ || short_ || !down.empty());
  return {open, degraded, detail, last_success_unix_, region_ok_, failures_};
}

std::string ReadinessGate::di_servers_down() const {
  std::string out;
  auto runtime = runtime_();
  for (const auto& set : runtime->sets) {
    if (set.region().empty()) continue;
    for (size_t i = 0; i < set.size(); ++i) {
      const auto& server = set.server(i);
      if (server.is_up()) continue;
      out += (out.empty() ? "" : "; ") + server.name() + " " + server.address().to_string() + " (" + set.region() +
             ") marked down";
    }
  }
  return out;
}

}  // namespace diresolver
