// Where libuv calls into diresolver. An exception must not unwind through
// libuv's C frames, so every libuv callback is noexcept and runs its body
// through at_boundary(): an exception that got this far (bad_alloc, a broken
// invariant) is stopped here and logged with where it happened, and the loop
// goes on with its next event.
#pragma once

#include <exception>

#include "util/log.hpp"

namespace diresolver::uv {

template <class Body>
void at_boundary(const char* where, Body&& body) noexcept {
  try {
    body();
  } catch (const std::exception& e) {
    log::error_noexcept(where, e.what());
  } catch (...) {
    log::error_noexcept(where, "an exception of unknown type");
  }
}

}  // namespace diresolver::uv
