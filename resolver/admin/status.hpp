// The /status page: JSON of every zone's upstream set, per server its health,
// last probe, SRTT and traffic counts, for operators and scripts.
#pragma once

#include <string>

#include "metrics/sums.hpp"
#include "server/runtime.hpp"

namespace diresolver {

std::string status_json(const Runtime& runtime, const CounterSources& sources);

}  // namespace diresolver
