#include "metrics/counters.hpp"

#include "util/clock.hpp"

namespace diresolver {

namespace {

uint64_t sum_servers(const std::vector<const WorkerCounters*>& workers, Counter ServerCounters::*field) {
  uint64_t total = 0;
  for (const auto* worker : workers)
    for (const auto& server : worker->servers) total += (server.*field).get();
  return total;
}

}  // namespace

std::vector<CounterTotal> sum_counters(const std::vector<const WorkerCounters*>& workers) {
  std::vector<CounterTotal> out;
#define DIRESOLVER_WORKER_SUM(field, family, label, value) \
  {                                                        \
    uint64_t total = 0;                                    \
    for (const auto* w : workers) total += w->field.get(); \
    out.push_back({#field, total});                        \
  }
  DIRESOLVER_WORKER_COUNTERS(DIRESOLVER_WORKER_SUM)
#undef DIRESOLVER_WORKER_SUM
#define DIRESOLVER_SERVER_SUM(field, family, source, label, value) \
  if (metrics::Source::source == metrics::Source::traffic)         \
    out.push_back({"upstream_" #field, sum_servers(workers, &ServerCounters::field)});
  DIRESOLVER_SERVER_COUNTERS(DIRESOLVER_SERVER_SUM)
#undef DIRESOLVER_SERVER_SUM
  for (auto error : all_of<UpstreamError>()) {
    uint64_t total = 0;
    for (const auto* worker : workers)
      for (const auto& server : worker->servers) total += server.failures[index_of(error)].get();
    out.push_back({"upstream_failures_" + std::string(name_of(error)), total});
  }
  return out;
}

void DaemonCounters::record_reload(bool ok, std::string error) {
  std::lock_guard lock(reload_mutex_);
  last_reload_ = {unix_s(), ok, std::move(error)};
}

ReloadRecord DaemonCounters::last_reload() const {
  std::lock_guard lock(reload_mutex_);
  return last_reload_;
}

}  // namespace diresolver
