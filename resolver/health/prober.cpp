#include "health/prober.hpp"

#include "dns/query.hpp"
#include "uv/boundary.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class Prober::Target {
 public:
  Target(Prober& prober, ExchangeFactory& exchanges, Upstream& server, const std::vector<uint8_t>& query, bool tcp)
      : prober_(prober),
        server_(server),
        packet_(query),
        exchange_(exchanges.make(tcp ? Transport::tcp : Transport::udp)) {
    parsed_ = dns::check_query(packet_).query;
    if (uv_timer_init(prober_.loop_, timer_.get()) == 0) timer_.adopt(this);
    schedule(0);  // first probe at once: the RTT estimate starts from a real sample
  }

  void stop() {
    timer_.close();
    exchange_->abandon();
  }

 private:
  void schedule(uint64_t delay_ms) {
    if (timer_.is_open()) uv_timer_start(timer_.get(), on_timer, delay_ms, 0);
  }

  static void on_timer(uv_timer_t* timer) noexcept {
    uv::at_boundary("Prober::on_timer", [&] {
      auto* self = uv::Handle<uv_timer_t>::owner_of<Target>(timer);
      if (self) self->send();
    });
  }

  void send() {
    sent_ns_ = uv_hrtime();
    ExchangeRequest request{&server_, packet_, &parsed_, prober_.timeout_ms_};
    if (auto refused = exchange_->start(request, [this](ExchangeResult&& r) { on_result(std::move(r)); }))
      record(*refused);
  }

  void on_result(ExchangeResult&& result) {
    record(result.ok() ? failure_in_answer(dns::rcode_of(result.answer())) : result.error());
  }

  void record(std::optional<UpstreamError> error) {
    auto& counters = prober_.counters_.servers[server_.id()];
    if (error) {
      counters.failures[index_of(*error)].inc();
      server_.report_failure(ResultSource::probe, *error, monotonic_ms());
    } else {
      counters.probes_ok.inc();
      auto rtt_us = static_cast<uint32_t>((uv_hrtime() - sent_ns_) / 1000);
      counters.observe_rtt(rtt_us);
      server_.report_success(ResultSource::probe, rtt_us, monotonic_ms());
    }
    auto interval = prober_.health_.interval_ms;
    schedule(server_.is_up() ? interval : interval / 2);
  }

  Prober& prober_;
  Upstream& server_;
  std::vector<uint8_t> packet_;
  dns::ParsedQuery parsed_;
  uint64_t sent_ns_ = 0;
  std::unique_ptr<Exchange> exchange_;
  uv::Handle<uv_timer_t> timer_;
};

Prober::Prober(uv_loop_t* loop, ExchangeFactory& exchanges, const std::vector<UpstreamSet>& sets,
               const HealthConfig& health, uint32_t timeout_ms, WorkerCounters& counters)
    : loop_(loop), health_(health), timeout_ms_(timeout_ms), counters_(counters) {
  for (const auto& set : sets)
    for (size_t i = 0; i < set.size(); ++i)
      targets_.push_back(std::make_unique<Target>(*this, exchanges, set.server(i), set.probe_query(), set.tcp_only()));
}

Prober::~Prober() { stop(); }

void Prober::stop() {
  for (auto& target : targets_) target->stop();
}

}  // namespace diresolver
