#include "metrics/http_server.hpp"

#include <CivetServer.h>

#include <stdexcept>

namespace diresolver {

class HttpServer::PageHandler : public CivetHandler {
 public:
  explicit PageHandler(Page page) : page_(std::move(page)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    HttpReply reply;
    try {
      reply = page_();
    } catch (const std::exception& e) {
      reply = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
    }
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
              "Connection: close\r\n\r\n",
              reply.status, mg_get_response_code_text(conn, reply.status), reply.content_type.c_str(),
              reply.body.size());
    mg_write(conn, reply.body.data(), reply.body.size());
    return true;
  }

 private:
  Page page_;
};

HttpServer::HttpServer(const SockAddr& listen) {
  std::vector<std::string> options = {"listening_ports", listen.to_string(), "num_threads", "2"};
  try {
    server_ = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    throw std::runtime_error("cannot serve HTTP on " + listen.to_string() + ": " + e.what());
  }
}

HttpServer::~HttpServer() { close(); }

void HttpServer::add_page(const std::string& path, Page page) {
  pages_.push_back(std::make_unique<PageHandler>(std::move(page)));
  server_->addHandler(path, pages_.back().get());
}

void HttpServer::close() {
  if (server_) server_->close();
  server_.reset();
}

}  // namespace diresolver
