#include "daemon/control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "net/address.hpp"
#include "uv/boundary.hpp"

namespace diresolver {

namespace {

constexpr size_t max_request = 1024;  // a request is one short line

// Whether a daemon answers at `path`: its socket must not be taken from it.
bool someone_listens(const std::string& path) {
  auto address = unix_socket_address(path);
  if (!address) return false;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof *address) == 0;
  ::close(fd);
  return answered;
}

}  // namespace

// One client: its request line in, the reply out, then closed.
class ControlSocket::Connection {
 public:
  Connection(ControlSocket& owner) : owner_(owner) {}

  bool accept(uv_stream_t* server) {
    if (uv_pipe_init(owner_.loop_, pipe_.get(), 0) != 0) return false;
    pipe_.adopt(this);
    auto* stream = reinterpret_cast<uv_stream_t*>(pipe_.get());
    return uv_accept(server, stream) == 0 && uv_read_start(stream, on_alloc, on_read) == 0;
  }

 private:
  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) noexcept {
    auto* self = uv::Handle<uv_pipe_t>::owner_of<Connection>(handle);
    *buf = self ? uv_buf_init(self->buffer_, sizeof self->buffer_) : uv_buf_init(nullptr, 0);
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
    uv::at_boundary("ControlSocket::on_read", [&] {
      auto* self = uv::Handle<uv_pipe_t>::owner_of<Connection>(reinterpret_cast<uv_handle_t*>(stream));
      if (!self) return;
      if (nread < 0) return self->owner_.forget(self);
      self->request_.append(buf->base, static_cast<size_t>(nread));
      auto end = self->request_.find('\n');
      if (end != std::string::npos) return self->answer(self->request_.substr(0, end));
      if (self->request_.size() > max_request) self->answer("");  // no line: answered as unknown
    });
  }

  void answer(const std::string& request) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(pipe_.get()));
    reply_ = owner_.handler_(request);
    auto buf = uv_buf_init(reply_.data(), static_cast<unsigned>(reply_.size()));
    write_.data = this;
    if (uv_write(&write_, reinterpret_cast<uv_stream_t*>(pipe_.get()), &buf, 1, on_written) != 0) owner_.forget(this);
  }

  static void on_written(uv_write_t* write, int) noexcept {
    auto* self = static_cast<Connection*>(write->data);
    self->owner_.forget(self);
  }

  ControlSocket& owner_;
  uv::Handle<uv_pipe_t> pipe_;
  char buffer_[256];
  std::string request_, reply_;
  uv_write_t write_{};
};

ControlSocket::ControlSocket(uv_loop_t* loop, std::string path, Handler handler)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)) {
  auto fail = [&](const std::string& what, int rc) {
    throw std::runtime_error("control socket " + path_ + ": " + what + ": " + uv_strerror(rc));
  };
  if (int rc = uv_pipe_init(loop_, listener_.get(), 0); rc != 0) fail("init", rc);
  listener_.adopt(this);
  if (someone_listens(path_)) throw std::runtime_error("control socket " + path_ + ": another diresolver listens there");
  ::unlink(path_.c_str());  // a stale socket of an earlier run
  if (int rc = uv_pipe_bind(listener_.get(), path_.c_str()); rc != 0) fail("bind", rc);
  ::chmod(path_.c_str(), 0660);
  if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener_.get()), 16, on_connection); rc != 0)
    fail("listen", rc);
}

ControlSocket::~ControlSocket() {
  connections_.clear();
  listener_.close();
  ::unlink(path_.c_str());
}

void ControlSocket::on_connection(uv_stream_t* server, int status) noexcept {
  uv::at_boundary("ControlSocket::on_connection", [&] {
    auto* self = uv::Handle<uv_pipe_t>::owner_of<ControlSocket>(reinterpret_cast<uv_handle_t*>(server));
    if (!self || status != 0) return;
    auto connection = std::make_unique<Connection>(*self);
    if (connection->accept(server)) self->connections_.push_back(std::move(connection));
  });
}

// After its reply is written (or the client left): closed, its handle freed by libuv.
void ControlSocket::forget(Connection* connection) {
  std::erase_if(connections_, [&](const auto& c) { return c.get() == connection; });
}

}  // namespace diresolver
