#include "readiness/validator.hpp"

#include "dns/name.hpp"
#include "dns/response.hpp"

namespace diresolver {

struct Validator::Check {
  size_t region;  // index into report_.regions
  size_t line;    // index into that region's checks
  Upstream* server;
  bool tcp;
  std::vector<uint8_t> packet;
  dns::ParsedQuery query;
  std::string zone_wire;
  uint64_t sent_ns = 0;
  std::unique_ptr<Exchange> exchange;
};

namespace {

std::string query_name(const ValidationQuery& q, const std::string& zone) {
  return q.name == "@" ? zone : q.name + "." + zone;
}

}  // namespace

Validator::Validator(TransportKit& transport, RuntimePtr runtime, Done done)
    : transport_(transport), runtime_(std::move(runtime)), done_(std::move(done)) {}

Validator::~Validator() {
  for (auto& check : checks_)
    if (check->exchange) check->exchange->abandon();
}

void Validator::start() {
  const auto& config = runtime_->config;
  for (const auto& set : runtime_->sets) {
    if (set.region().empty()) continue;
    report_.regions.push_back({set.region(), set.zone(), {}});
    for (size_t s = 0; s < set.size(); ++s)
      for (const auto& q : config.readiness.queries)
        for (bool tcp : {false, true}) {
          if (!tcp && set.tcp_only()) continue;  // its traffic never takes UDP, which may well be filtered
          auto check = std::make_unique<Check>();
          check->region = report_.regions.size() - 1;
          check->server = &set.server(s);
          check->tcp = tcp;
          auto name = *normalize_zone_name(query_name(q, set.zone()));
          check->packet = dns::make_query(zone_name_to_wire(name), q.type);
          check->query = dns::check_query(check->packet).query;
          check->zone_wire = zone_name_to_wire(set.zone());
          auto& lines = report_.regions.back().checks;
          check->line = lines.size();
          lines.push_back({check->server->name(), check->server->address().to_string(), tcp ? "tcp" : "udp", q.text(),
                           CheckResult::timeout, 0});
          checks_.push_back(std::move(check));
        }
  }
  pending_ = checks_.size();
  if (pending_ == 0) return done_(report_);
  for (auto& check : checks_)
    if (check->tcp) transport_.reconnect(*check->server);
  for (auto& check : checks_) launch(*check);
}

void Validator::launch(Check& check) {
  const auto& readiness = runtime_->config.readiness;
  check.exchange = transport_.make(check.tcp ? Transport::tcp : Transport::udp);
  ExchangeRequest request{check.server, check.packet, &check.query, readiness.timeout_ms};
  auto done = [this, &check, slow_ms = readiness.slow_ms](ExchangeResult&& result) {
    double rtt_ms = static_cast<double>(uv_hrtime() - check.sent_ns) / 1e6;
    if (!result.ok()) return finish(check, judge_error(result.error()), 0);
    finish(check, judge_answer(result.answer(), check.zone_wire, static_cast<uint32_t>(rtt_ms), slow_ms), rtt_ms);
  };
  check.sent_ns = uv_hrtime();
  if (auto refused = check.exchange->start(request, done)) finish(check, judge_error(*refused), 0);
}

void Validator::finish(Check& check, CheckResult result, double rtt_ms) {
  auto& line = report_.regions[check.region].checks[check.line];
  line.result = result;
  line.rtt_ms = rtt_ms;
  if (--pending_ == 0) done_(report_);
}

ValidationReport validate_once(RuntimePtr runtime) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ValidationReport report;
  {
    WorkerCounters counters(UpstreamRegistry::max_servers);
    TransportKit transport(&loop, runtime->config.upstream, counters);
    // Every check has ended: the kit's sockets and idle connections need not linger.
    Validator validator(transport, std::move(runtime), [&](const ValidationReport& r) {
      report = r;
      uv_stop(&loop);
    });
    validator.start();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // close callbacks of the kit's handles
  uv_loop_close(&loop);
  return report;
}

}  // namespace diresolver
