#include "daemon/dnstap_outputs.hpp"

#include "uv/boundary.hpp"

namespace diresolver {

std::shared_ptr<const DnstapLog> DnstapOutputs::log_for(const DnstapSettings& settings) const {
  if (!settings.enabled()) return nullptr;
  if (running_ && running_->serves(settings)) return running_;
  return std::make_shared<const DnstapLog>(settings, workers_);
}

void DnstapOutputs::running(std::shared_ptr<const DnstapLog> log) {
  if (log == running_) return;
  if (running_) retired_.push_back(std::move(running_));
  running_ = std::move(log);
  if (retired_.empty()) return;
  if (!sweep_timer_.is_open()) {
    uv_timer_init(loop_, sweep_timer_.get());
    sweep_timer_.adopt(this);
  }
  uv_timer_start(sweep_timer_.get(), on_sweep, 1000, 1000);
}

void DnstapOutputs::on_sweep(uv_timer_t* timer) noexcept {
  uv::at_boundary("DnstapOutputs::on_sweep", [&] {
    if (auto* self = uv::Handle<uv_timer_t>::owner_of<DnstapOutputs>(timer)) self->sweep();
  });
}

// A log only this list holds has no query left that could write to it.
void DnstapOutputs::sweep() {
  std::erase_if(retired_, [](const auto& log) { return log.use_count() == 1; });
  if (retired_.empty()) uv_timer_stop(sweep_timer_.get());
}

// Shutdown, after the workers have stopped: every log writes out what it holds.
void DnstapOutputs::close() {
  sweep_timer_.close();
  retired_.clear();
  running_.reset();
}

}  // namespace diresolver
