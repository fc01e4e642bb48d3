#include "server/query_log.hpp"

#include "dns/name.hpp"
#include "dns/rr_type.hpp"
#include "util/log.hpp"

namespace diresolver {

namespace {

int64_t ms_between(uint64_t from_ns, uint64_t to_ns) { return static_cast<int64_t>((to_ns - from_ns) / 1'000'000); }

std::string client_text(const SockAddr& client) { return client.host_string() + "#" + std::to_string(client.port()); }

// "IAD 127.0.0.11:53 udp: timeout at 400 ms" (since the query came in).
std::string attempt_text(const Transaction& transaction, const Transaction::Attempt& attempt, Instant started) {
  const auto& server = transaction.set().server(attempt.server);
  auto address = server.address().to_string();  // a [[forward]] server's name is its address
  std::string out = (server.name() == address ? address : server.name() + " " + address) + " " +
                    std::string(name_of(attempt.transport));
  if (attempt.done_ns == 0) return out + ": no answer yet";
  out += ": ";
  if (attempt.error)
    out += name_of(*attempt.error);
  else
    out += std::string(dns::rcode_names[static_cast<unsigned>(attempt.rcode) & 15]) + (attempt.truncated ? " TC" : "");
  return out + " at " + std::to_string(ms_between(started.ns, attempt.done_ns)) + " ms";
}

bool is_error_answer(dns::Bytes answer) {
  auto rcode = dns::rcode_of(answer);
  return rcode == dns::Rcode::servfail || rcode == dns::Rcode::refused;
}

}  // namespace

std::string QueryLog::line(const AnsweredQuery& q) {
  std::string out = "query " + client_text(q.client) + " " + wire_name_to_text(q.query.name()) + " " +
                    rr_type_text(q.query.qtype);
  if (q.transaction) out += " via " + q.transaction->set().route_label();
  out += ": ";
  out += dns::rcode_names[static_cast<unsigned>(dns::rcode_of(q.answer)) & 15];
  if (q.ede) out += " EDE " + std::to_string(static_cast<unsigned>(*q.ede));
  out += " after " + std::to_string(ms_between(q.started.ns, q.now.ns)) + " ms";
  if (!q.transaction || q.transaction->attempts().empty()) return out;
  out += "; asked ";
  bool first = true;
  for (const auto& attempt : q.transaction->attempts()) {
    out += (first ? "" : ", ") + attempt_text(*q.transaction, attempt, q.started);
    first = false;
  }
  return out;
}

void QueryLog::answered(const AnsweredQuery& q) {
  if (!wanted(q) || !within_rate(q.now.ms())) return;
  log::info(line(q));
}

bool QueryLog::wanted(const AnsweredQuery& q) const {
  switch (settings_.queries) {
    case QueryLogMode::none: return false;
    case QueryLogMode::all: return true;
    case QueryLogMode::failures:
      return q.ede.has_value() || is_error_answer(q.answer) ||
             ms_between(q.started.ns, q.now.ns) >= int64_t{settings_.slow_ms};
  }
  return false;
}

// A window of one second: a burst of failures (a DI outage) writes the first
// lines, then one summary, not thousands of lines a second.
bool QueryLog::within_rate(int64_t now_ms) {
  if (now_ms - window_start_ms_ >= 1000) {
    if (suppressed_ > 0) log::info("query log: ", suppressed_, " lines suppressed (log.max_lines_per_second)");
    window_start_ms_ = now_ms;
    lines_in_window_ = 0;
    suppressed_ = 0;
  }
  if (lines_in_window_ < settings_.max_lines_per_second) {
    ++lines_in_window_;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace diresolver
