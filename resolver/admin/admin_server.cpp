#include "admin/admin_server.hpp"

#include <prometheus/text_serializer.h>

#include <sstream>

#include "admin/collector.hpp"
#include "admin/status.hpp"
#include "admin/status_page.hpp"
#include "util/clock.hpp"
#include "util/log.hpp"

namespace diresolver {

namespace {

StatusSources status_sources(const AdminSources& sources) {
  std::optional<CacheStats> cache;
  if (sources.cache) cache = sources.cache->stats();
  return {sources.daemon, sources.gate.view(), cache};
}

}  // namespace

HttpReply readyz_reply(const ReadinessView& view) {
  if (!view.ready) return {503, "text/plain; charset=utf-8", "not ready: " + view.detail + "\n"};
  return {200, "text/plain; charset=utf-8", (view.degraded ? "degraded: " : "ready: ") + view.detail + "\n"};
}

HttpReply address_reply(const AddressVerdict& verdict) {
  return {verdict.hold ? 200 : 503, "text/plain; charset=utf-8", verdict.line() + "\n"};
}

AdminServer::AdminServer(const SockAddr& listen, AdminSources sources) : http_(listen) {
  auto collector = std::make_shared<MetricsCollector>(sources.runtime, sources.counters, sources.cache, sources.daemon,
                                                      sources.gate);
  http_.add_page("/metrics", [collector](const HttpRequest&) {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, collector->Collect());
    return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", out.str()};
  });
  http_.add_page("/status", [sources](const HttpRequest&) {
    return HttpReply{200, "application/json", status_json(*sources.runtime(), sources.counters, status_sources(sources))};
  });
  http_.add_page("/$", [sources, page = std::make_shared<StatusPage>()](const HttpRequest&) {
    return HttpReply{200, "text/html; charset=utf-8",
                     page->render(*sources.runtime(), sources.counters, status_sources(sources))};
  });
  http_.add_page("/readyz", [&gate = sources.gate, &loops = sources.loops](const HttpRequest& request) {
    auto purpose = request.param("for");
    if (!purpose) return readyz_reply(gate.view());
    if (*purpose == "address") return address_reply(address_verdict(gate.view(), loops.hung(monotonic_ms())));
    return HttpReply{400, "text/plain; charset=utf-8", "unknown ?for= (address is the one there is)\n"};
  });
  http_.add_page("/healthz", [](const HttpRequest&) { return HttpReply{200, "text/plain; charset=utf-8", "ok\n"}; });
  log::info("admin HTTP on ", listen.to_string(), " (/ status page, /metrics, /status, /readyz, /healthz)");
}

}  // namespace diresolver
