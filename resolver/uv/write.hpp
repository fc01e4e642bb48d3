// Writing owned bytes to a libuv stream: the request and its buffer live on
// the heap until the write callback, which frees them whether the write
// succeeded, failed or was cancelled by a close. Nothing else is touched,
// except `written`, if given, which is then called with the stream (find its
// owner with uv::Handle::owner_of: nullptr once the stream is closing).
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace diresolver::uv {

// Writes the 2-byte length prefix of RFC 1035 §4.2.2 and then `message`.
// Returns false if libuv refused the write at once.
inline bool write_framed(uv_stream_t* stream, const uint8_t* message, size_t size,
                         void (*written)(uv_stream_t* stream) noexcept = nullptr) {
  struct WriteRequest {
    uv_write_t req;
    std::vector<uint8_t> data;
    void (*written)(uv_stream_t*) noexcept;
  };
  auto request = std::make_unique<WriteRequest>();
  request->written = written;
  request->data.reserve(size + 2);
  request->data.push_back(static_cast<uint8_t>(size >> 8));
  request->data.push_back(static_cast<uint8_t>(size));
  request->data.insert(request->data.end(), message, message + size);
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(request->data.data()), static_cast<unsigned>(request->data.size()));
  int rc = uv_write(&request->req, stream, &buf, 1, [](uv_write_t* req, int) noexcept {
    std::unique_ptr<WriteRequest> done(reinterpret_cast<WriteRequest*>(req));
    if (done->written) done->written(req->handle);  // itself noexcept, at the boundary
  });
  if (rc != 0) return false;
  (void)request.release();  // owned by the callback now
  return true;
}

}  // namespace diresolver::uv
