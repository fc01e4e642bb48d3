#include "admin/status_page.hpp"

#include <cstdio>

#include "util/clock.hpp"

namespace diresolver {

namespace {

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char out[32];
  std::snprintf(out, sizeof out, "%.*f", decimals, value);
  return out;
}

std::string age_text(int64_t ms) {
  auto s = ms / 1000;
  if (s < 120) return std::to_string(s) + " s ago";
  if (s < 7200) return std::to_string(s / 60) + " min ago";
  return std::to_string(s / 3600) + " h ago";
}

constexpr const char* style =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1em}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;"
    "text-align:left}.up,.ready{color:#1a7f37}.down,.not-ready{color:#c62828}.degraded{color:#b26a00}"
    ".figure{display:inline-block;margin-right:2.5em}.figure b{display:block;font-size:1.6em}";

std::string gate_html(const ReadinessView& gate) {
  std::string state = !gate.ready ? "not-ready" : gate.degraded ? "degraded" : "ready";
  std::string label = !gate.ready ? "NOT READY" : gate.degraded ? "DEGRADED" : "READY";
  return "<h2>Gate: <span id=\"gate\" class=\"" + state + "\">" + label + "</span></h2>\n<p id=\"gate-detail\">" +
         escaped(gate.detail) + "</p>\n";
}

std::string server_row(const Upstream& server, int64_t now_ms) {
  auto health = server.snapshot();
  std::string state = health.up ? "up" : "down";
  return "<tr class=\"server\" data-name=\"" + escaped(server.name()) + "\"><td>" + escaped(server.name()) +
         "</td><td>" + escaped(server.address().to_string()) + "</td><td class=\"state " + state + "\">" + state +
         "</td><td>" + fixed(server.srtt_us(now_ms) / 1000.0, 1) + " ms</td><td>" +
         age_text(now_ms - health.last_change_ms) + "</td></tr>\n";
}

std::string regions_html(const Runtime& runtime) {
  std::string out;
  auto now = monotonic_ms();
  for (const auto& set : runtime.sets) {
    if (set.region().empty()) continue;
    out += "<h3>Region " + escaped(set.region()) + " <small>" + escaped(set.zone()) +
           "</small></h3>\n<table class=\"region\" data-region=\"" + escaped(set.region()) +
           "\"><tr><th>server</th><th>address</th><th>state</th><th>RTT</th><th>last change</th></tr>\n";
    for (size_t i = 0; i < set.size(); ++i) out += server_row(set.server(i), now);
    out += "</table>\n";
  }
  return out;
}

std::string figure(const std::string& id, const std::string& label, const std::string& value) {
  return "<span class=\"figure\">" + label + "<b id=\"" + id + "\">" + value + "</b></span>\n";
}

}  // namespace

StatusPage::Totals StatusPage::since_last_view(const Totals& now, int64_t started_ms) {
  std::lock_guard lock(mutex_);
  Totals before = last_.at_ms ? last_ : Totals{0, 0, started_ms};
  last_ = now;
  return {now.answers - before.answers, now.servfail - before.servfail, now.at_ms - before.at_ms};
}

std::string StatusPage::render(const Runtime& runtime, const CounterSources& sources, const StatusSources& more) {
  uint64_t answers = 0;
  for (size_t rcode = 0; rcode < 16; ++rcode)
    answers += sum_workers_at(sources.traffic, &WorkerCounters::responses_by_rcode, rcode);
  auto servfail = sum_workers_at(sources.traffic, &WorkerCounters::responses_by_rcode, 2);
  auto window = since_last_view({answers, servfail, unix_ms()}, more.daemon.started_unix_s * 1000);
  double seconds = window.at_ms > 0 ? double(window.at_ms) / 1000.0 : 1.0;
  std::string servfail_share = window.answers ? fixed(100.0 * double(window.servfail) / double(window.answers), 1) + " %" : "-";
  std::string hit_ratio = "off";
  if (more.cache) {
    auto totals = cache_totals(sources);
    hit_ratio = totals.any() ? fixed(100.0 * totals.hit_ratio(), 1) + " %" : "-";
  }
  return std::string("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">") +
         "<title>diresolver</title><style>" + style + "</style></head><body>\n<h1>diresolver " + DIRESOLVER_VERSION +
         "</h1>\n" + gate_html(more.readiness) + "<p>\n" +
         figure("answers-per-second", "answers/s", fixed(double(window.answers) / seconds, 1)) +
         figure("servfail-share", "SERVFAIL", servfail_share) + figure("cache-hit-ratio", "cache hits", hit_ratio) +
         "</p>\n" + regions_html(runtime) + "</body></html>\n";
}

}  // namespace diresolver
