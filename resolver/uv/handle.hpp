// RAII ownership of one libuv handle.
//
// libuv keeps the handle's address until its close callback runs, so the
// storage is heap-allocated and freed there, never when the owner goes away.
// The owner registers itself in handle->data; close() clears it first, so a
// callback that arrives late (a cancelled write or connect) finds no owner and
// returns. Handles are neither copied nor moved.
#pragma once

#include <uv.h>

#include <memory>

namespace diresolver::uv {

template <class H>
class Handle {
 public:
  Handle() : handle_(std::make_unique<H>()) {}
  ~Handle() { close(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  H* get() const { return handle_.get(); }
  uv_handle_t* base() const { return reinterpret_cast<uv_handle_t*>(handle_.get()); }

  // Call once uv_*_init succeeded; from then on close() goes through libuv.
  void adopt(void* owner) {
    handle_->data = owner;
    initialized_ = true;
  }
  bool is_open() const { return handle_ && initialized_; }

  void close() {
    if (!handle_) return;
    if (!initialized_) {
      handle_.reset();
      return;
    }
    handle_->data = nullptr;
    uv_close(base(), [](uv_handle_t* h) noexcept { delete reinterpret_cast<H*>(h); });
    (void)handle_.release();
  }

  // The owner recorded by adopt(), or nullptr once the handle is closing.
  template <class Owner>
  static Owner* owner_of(const void* handle) {
    return static_cast<Owner*>(static_cast<const uv_handle_t*>(handle)->data);
  }

 private:
  std::unique_ptr<H> handle_;
  bool initialized_ = false;
};

}  // namespace diresolver::uv
