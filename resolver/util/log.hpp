// Logging to stderr, one line per event, for journald. Lines start with the
// level ("info:", "warn:", "error:") so tests and operators can grep them.
// Not for the query path: it takes a lock and formats.
#pragma once

#include <sstream>
#include <string_view>

namespace diresolver::log {

enum class Level { info, warn, error };

void write(Level level, std::string_view line);

template <class... Parts>
std::string join(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

// For a catch block at a loop boundary: "error: uncaught exception in WHERE: WHAT", never throwing.
void error_noexcept(const char* where, const char* what) noexcept;

template <class... Parts>
void info(const Parts&... p) {
  write(Level::info, join(p...));
}
template <class... Parts>
void warn(const Parts&... p) {
  write(Level::warn, join(p...));
}
template <class... Parts>
void error(const Parts&... p) {
  write(Level::error, join(p...));
}

}  // namespace diresolver::log
