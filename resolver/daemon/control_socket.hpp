// The control socket ([control] socket, a Unix stream socket) that
// `diresolver status|flush|reload` talk to: one request line per connection
// ("status", "flush", "flush name NAME", "flush zone ZONE", "reload"), one
// reply: "ok" or "error: WHY" on its first line, then the body; then the
// daemon closes the connection. It runs on the control loop, where reloads
// run, so `reload` answers with the reload's own outcome. The file is made
// after the daemon gave up root, mode 0660: its user and group may use it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "uv/handle.hpp"

namespace diresolver {

class ControlSocket {
 public:
  using Handler = std::function<std::string(const std::string& request)>;

  // Throws std::runtime_error naming the path when it cannot listen.
  ControlSocket(uv_loop_t* loop, std::string path, Handler handler);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

 private:
  class Connection;
  static void on_connection(uv_stream_t* server, int status) noexcept;
  void forget(Connection* connection);

  uv_loop_t* loop_;
  std::string path_;
  Handler handler_;
  uv::Handle<uv_pipe_t> listener_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace diresolver
