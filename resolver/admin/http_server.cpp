#include "admin/http_server.hpp"

#include <CivetServer.h>

#include <stdexcept>

namespace diresolver {

std::optional<std::string> HttpRequest::param(const std::string& name) const {
  std::string value(query_string.size() + 1, '\0');
  int length = mg_get_var(query_string.data(), query_string.size(), name.c_str(), value.data(), value.size());
  if (length < 0) return std::nullopt;
  value.resize(static_cast<size_t>(length));
  return value;
}

class HttpServer::PageHandler : public CivetHandler {
 public:
  PageHandler(Page page, HttpMethod method) : page_(std::move(page)), method_(method) {}

  bool handleGet(CivetServer*, mg_connection* conn) override { return serve(conn, HttpMethod::get); }
  bool handlePost(CivetServer*, mg_connection* conn) override { return serve(conn, HttpMethod::post); }

 private:
  bool serve(mg_connection* conn, HttpMethod method) {
    if (method != method_) {
      reply(conn, {405, "text/plain; charset=utf-8", "method not allowed\n"});
      return true;
    }
    const auto* info = mg_get_request_info(conn);
    HttpRequest request{info && info->query_string ? info->query_string : ""};
    try {
      reply(conn, page_(request));
    } catch (const std::exception& e) {
      reply(conn, {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"});
    }
    return true;
  }

  static void reply(mg_connection* conn, const HttpReply& reply) {
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              reply.status, mg_get_response_code_text(conn, reply.status), reply.content_type.c_str(),
              reply.body.size());
    mg_write(conn, reply.body.data(), reply.body.size());
  }

  Page page_;
  HttpMethod method_;
};

HttpServer::HttpServer(const SockAddr& listen) {
  // A few threads and a short request timeout: a client that connects and says
  // nothing must not keep /metrics from Prometheus for long.
  std::vector<std::string> options = {
      "listening_ports", listen.to_string(), "num_threads", "4", "request_timeout_ms", "3000"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    throw std::runtime_error("cannot serve HTTP on " + listen.to_string() + ": " + e.what());
  }
}

HttpServer::~HttpServer() { close(); }

void HttpServer::add_page(const std::string& path, Page page, HttpMethod method) {
  pages_.push_back(std::make_unique<PageHandler>(std::move(page), method));
  server_->addHandler(path, pages_.back().get());
}

void HttpServer::close() {
  if (server_) server_->close();
  server_.reset();
}

}  // namespace diresolver
