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
        exchanges_(exchanges),
        exchange_(exchanges.make(tcp ? Transport::tcp : Transport::udp)),
        over_tcp_(tcp) {
    parsed_ = dns::check_query(packet_).query;
    if (uv_timer_init(prober_.loop_, timer_.get()) == 0) timer_.adopt(this);
    schedule(0);  // first probe at once: the RTT estimate starts from a real sample
  }

  void stop() {
    timer_.close();
    exchange_->abandon();
    if (tcp_exchange_) tcp_exchange_->abandon();
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
    start(*exchange_, [this](ExchangeResult&& r) { on_result(std::move(r)); });
  }

  void start(Exchange& exchange, ExchangeDone done) {
    ExchangeRequest request{&server_, packet_, &parsed_, prober_.timeout_ms_};
    if (auto refused = exchange.start(request, std::move(done))) record(*refused);
  }

  static std::optional<UpstreamError> verdict(const ExchangeResult& result) {
    return result.ok() ? failure_in_answer(dns::rcode_of(result.answer())) : result.error();
  }

  void on_result(ExchangeResult&& result) {
    if (result.ok() && !over_tcp_ && dns::is_truncated(result.answer())) return send_over_tcp();
    record(verdict(result));
  }

  // Truncated: the probe goes on over TCP, as a client's query would, so a
  // server whose TCP is blocked is not called healthy for its UDP answers
  // (traffic would mark it down, probes up again, and so on).
  void send_over_tcp() {
    if (!tcp_exchange_) tcp_exchange_ = exchanges_.make(Transport::tcp);
    start(*tcp_exchange_, [this](ExchangeResult&& r) { record(verdict(r)); });
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
  ExchangeFactory& exchanges_;
  std::unique_ptr<Exchange> exchange_;
  bool over_tcp_;                           // a tcp_only set: every probe over TCP
  std::unique_ptr<Exchange> tcp_exchange_;  // made at the first truncated UDP answer
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
