#include "upstream/upstream.hpp"

#include "util/log.hpp"

namespace diresolver {

Upstream::Upstream(unsigned id, std::string name, SockAddr address, std::string zone, HealthSettings health)
    : id_(id),
      name_(std::move(name)),
      address_(address),
      zone_(std::move(zone)),
      state_(health),
      last_change_ms_(monotonic_ms()) {}

HealthTransition Upstream::report_success(ResultSource source, uint32_t rtt_us, int64_t now_ms) {
  rtt_.add_sample(rtt_us, now_ms);
  if (source == ResultSource::traffic && clean_.load(std::memory_order_relaxed)) return HealthTransition::none;
  std::lock_guard lock(mutex_);
  if (source == ResultSource::probe) last_probe_ = ProbeRecord{std::nullopt, now_ms};
  return settle(state_.record_success(), now_ms);
}

HealthTransition Upstream::report_failure(ResultSource source, UpstreamError error, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  if (source == ResultSource::probe) last_probe_ = ProbeRecord{error, now_ms};
  // No socket for the query says nothing about the server: a DI outage must not page when we ran out of fds.
  if (error == UpstreamError::local) return HealthTransition::none;
  return settle(state_.record_failure(error), now_ms);
}

HealthTransition Upstream::settle(HealthTransition transition, int64_t now_ms) {
  if (transition != HealthTransition::none) last_change_ms_ = now_ms;
  if (transition == HealthTransition::went_down)
    log::warn("upstream ", describe(), " is down (", state_.consecutive_failures(),
              " consecutive failures, last: ", name_of(*state_.last_failure()), ")");
  if (transition == HealthTransition::went_up)
    log::info("upstream ", describe(), " is up (", state_.consecutive_successes(), " consecutive successes)");
  up_.store(state_.up(), std::memory_order_relaxed);
  clean_.store(state_.up() && state_.consecutive_failures() == 0, std::memory_order_relaxed);
  return transition;
}

void Upstream::set_health_settings(HealthSettings settings) {
  std::lock_guard lock(mutex_);
  state_.set_settings(settings);
}

HealthSnapshot Upstream::snapshot() const {
  std::lock_guard lock(mutex_);
  return {
      state_.up(),    state_.consecutive_failures(), state_.consecutive_successes(), state_.last_failure(), last_probe_,
      last_change_ms_};
}

std::string Upstream::describe() const {
  auto address = address_.to_string();
  return (name_ == address ? address : name_ + " " + address) + " of " + zone_;
}

}  // namespace diresolver
