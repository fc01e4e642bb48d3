// POST /cache/flush: drop everything, one name (?name=www.example.com, every
// type), or a zone and all below it (?zone=example.com). Answers JSON
// {"flushed": N}, or 400 naming the bad parameter.
#pragma once

#include <optional>
#include <string>

#include "admin/http_server.hpp"
#include "cache/packet_cache.hpp"

namespace diresolver {

HttpReply flush_cache(PacketCache& cache, const HttpRequest& request);

// What both the HTTP page and the control socket do: the entries flushed, or why not.
struct FlushOutcome {
  size_t flushed = 0;
  std::string error;  // "name: ...", "zone: ..."; empty when done
};
FlushOutcome flush_cache(PacketCache& cache, const std::optional<std::string>& name,
                         const std::optional<std::string>& zone);

}  // namespace diresolver
