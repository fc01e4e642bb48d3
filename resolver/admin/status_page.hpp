// The status page at the admin listener's `/`: one self-contained HTML page
// (no scripts, no external assets; it reloads itself every 5 s) for the person
// at the console: the gate and why, each DI region's servers (up or down, RTT,
// last change), answers per second, the SERVFAIL share and the cache hit ratio.
// Rendered on the server, so what a browser shows is what this code wrote.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "admin/status.hpp"

namespace diresolver {

// Answers/s and the SERVFAIL share are measured between two views of the page
// (the first view: since the daemon started).
class StatusPage {
 public:
  std::string render(const Runtime& runtime, const CounterSources& sources, const StatusSources& more);

 private:
  struct Totals {
    uint64_t answers = 0, servfail = 0;
    int64_t at_ms = 0;
  };
  Totals since_last_view(const Totals& now, int64_t started_ms);

  std::mutex mutex_;  // civetweb serves pages from several threads
  Totals last_;
};

}  // namespace diresolver
