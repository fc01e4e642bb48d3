#include "health/prober.hpp"

#include <algorithm>

#include "dns/query.hpp"
#include "transport/tcp_exchange.hpp"
#include "transport/udp_exchange.hpp"

namespace diresolver {

class Prober::Target {
 public:
  Target(Prober& prober, Upstream& server, const std::vector<uint8_t>& query, bool tcp)
      : prober_(prober), server_(server), packet_(query), tcp_(tcp) {
    parsed_ = dns::check_query(packet_).query;
    if (uv_timer_init(prober_.loop_, timer_.get()) == 0) timer_.adopt(this);
    schedule(0);  // first probe at once: the RTT estimate starts from a real sample
  }

  void stop() {
    timer_.close();
    exchange_.reset();
  }

 private:
  void schedule(uint64_t delay_ms) {
    if (timer_.is_open()) uv_timer_start(timer_.get(), on_timer, delay_ms, 0);
  }

  static void on_timer(uv_timer_t* timer) {
    auto* self = uv::Handle<uv_timer_t>::owner_of<Target>(timer);
    if (self) self->send();
  }

  void send() {
    dns::set_id(packet_, prober_.ids_.next());
    ExchangeRequest request{prober_.loop_,     &server_, packet_, &parsed_, prober_.timeout_ms_,
                            &prober_.counters_, &prober_.scratch_, &prober_.ids_};
    sent_ns_ = uv_hrtime();
    auto done = [this](ExchangeResult&& r) { on_result(std::move(r)); };
    if (tcp_)
      exchange_ = std::make_unique<TcpExchange>(request, prober_.tcp_, std::move(done));
    else
      exchange_ = std::make_unique<UdpExchange>(request, std::move(done));
    if (!exchange_->start()) {
      exchange_.reset();
      record(UpstreamError::network);
    }
  }

  void on_result(ExchangeResult&& result) {
    prober_.dead_exchanges_.bury(std::move(exchange_));
    if (!result.ok) return record(result.error);
    auto rcode = dns::rcode_of(result.answer);
    if (rcode == dns::Rcode::noerror || rcode == dns::Rcode::nxdomain) return record(std::nullopt);
    record(rcode == dns::Rcode::refused ? UpstreamError::refused : UpstreamError::servfail);
  }

  void record(std::optional<UpstreamError> error) {
    auto& counters = prober_.counters_.servers[server_.id()];
    if (error) {
      counters.probes_failed.inc();
      counters.failures[static_cast<size_t>(*error)].inc();
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
  bool tcp_;
  uint64_t sent_ns_ = 0;
  std::unique_ptr<Exchange> exchange_;
  uv::Handle<uv_timer_t> timer_;
};

Prober::Prober(uv_loop_t* loop, const std::vector<UpstreamSet>& sets, const HealthConfig& health,
               const UpstreamSettings& upstream, WorkerCounters& counters)
    : loop_(loop), health_(health),
      // A probe must end before the next is due, and never wait longer than live traffic would.
      timeout_ms_(std::min(upstream.attempt_timeout_ms, health.interval_ms)), counters_(counters),
      scratch_(65536), tcp_(loop, upstream.tcp_idle_timeout_ms, counters, scratch_), dead_exchanges_(loop) {
  for (const auto& set : sets)
    for (size_t i = 0; i < set.size(); ++i)
      targets_.push_back(std::make_unique<Target>(*this, set.server(i), set.probe_query(), set.tcp_only()));
}

Prober::~Prober() { stop(); }

void Prober::stop() {
  for (auto& target : targets_) target->stop();
  tcp_.close_all();
  dead_exchanges_.close();
}

}  // namespace diresolver
