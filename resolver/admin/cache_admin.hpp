// POST /cache/flush: drop everything, one name (?name=www.example.com, every
// type), or a zone and all below it (?zone=example.com). Answers JSON
// {"flushed": N}, or 400 naming the bad parameter.
#pragma once

#include "admin/http_server.hpp"
#include "cache/packet_cache.hpp"

namespace diresolver {

HttpReply flush_cache(PacketCache& cache, const HttpRequest& request);

}  // namespace diresolver
