#include "util/log.hpp"

#include <cstdio>
#include <mutex>

namespace diresolver::log {

namespace {
std::mutex& line_mutex() {
  static std::mutex m;
  return m;
}
const char* prefix(Level level) {
  switch (level) {
    case Level::info: return "info: ";
    case Level::warn: return "warn: ";
    case Level::error: return "error: ";
  }
  return "";
}
}  // namespace

void write(Level level, std::string_view line) {
  std::lock_guard lock(line_mutex());
  std::fprintf(stderr, "%s%.*s\n", prefix(level), static_cast<int>(line.size()), line.data());
  std::fflush(stderr);
}

void error_noexcept(const char* where, const char* what) noexcept {
  try {
    std::lock_guard lock(line_mutex());
    std::fprintf(stderr, "error: uncaught exception in %s: %s\n", where, what);
    std::fflush(stderr);
  } catch (...) {  // the mutex could not be taken: nothing better to do than stay quiet
  }
}

}  // namespace diresolver::log
