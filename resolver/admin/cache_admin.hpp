// `diresolver flush` (through the control socket): drop everything, one name
// (every type), or a zone and all below it.
#pragma once

#include <optional>
#include <string>

#include "cache/packet_cache.hpp"

namespace diresolver {

// What both the HTTP page and the control socket do: the entries flushed, or why not.
struct FlushOutcome {
  size_t flushed = 0;
  std::string error;  // "name: ...", "zone: ..."; empty when done
};
FlushOutcome flush_cache(PacketCache& cache, const std::optional<std::string>& name,
                         const std::optional<std::string>& zone);

}  // namespace diresolver
