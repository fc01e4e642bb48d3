// The collector's parts, each building the families of one concern.
#pragma once

#include <prometheus/metric_family.h>

#include <vector>

#include "metrics/upstream_view.hpp"
#include "server/runtime.hpp"

namespace diresolver::metrics {

std::vector<prometheus::MetricFamily> upstream_families(const Runtime& runtime, const CounterSources& sources);
// Client side: queries, routes, responses, latency, refusals, TCP connections.
std::vector<prometheus::MetricFamily> client_families(const Runtime& runtime,
                                                      const std::vector<const WorkerCounters*>& workers);
std::vector<prometheus::MetricFamily> process_families();
prometheus::MetricFamily build_info_family();

}  // namespace diresolver::metrics
