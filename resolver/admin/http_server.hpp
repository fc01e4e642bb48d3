// The admin HTTP endpoint (/metrics, /status, and the readiness pages later),
// served by civetweb from its own threads: pages must only read state that is
// safe to read concurrently (atomics, mutex-guarded snapshots).
//
// civetweb directly rather than prometheus-cpp's Exposer: the Exposer serves
// only Prometheus text, and JSON pages beside it would need a global hook.
// /metrics uses prometheus-cpp's collectables and text serializer all the same.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/address.hpp"

class CivetServer;

namespace diresolver {

enum class HttpMethod { get, post };

struct HttpRequest {
  std::string query_string;
  // The URL-decoded value of one query parameter, or nullopt.
  std::optional<std::string> param(const std::string& name) const;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpServer {
 public:
  using Page = std::function<HttpReply(const HttpRequest&)>;

  explicit HttpServer(const SockAddr& listen);  // throws std::runtime_error naming the address
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void add_page(const std::string& path, Page page, HttpMethod method = HttpMethod::get);
  void close();

 private:
  class PageHandler;
  std::unique_ptr<CivetServer> server_;
  std::vector<std::unique_ptr<PageHandler>> pages_;
};

}  // namespace diresolver
