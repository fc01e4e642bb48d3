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

}  // namespace diresolver::log
