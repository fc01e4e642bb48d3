// Logging to stderr, one line per event. Lines carry the level ("info:",
// "warn:", "error:") so tests and operators can grep them. The daemon picks a
// style at start (daemon_style()): under systemd, whose journal reads a
// syslog priority prefix ("<4>") off each line, the prefix; elsewhere an ISO
// 8601 timestamp, as nothing else dates the line. One-shot commands
// (config-test, check) keep bare lines. Not for the query path: it takes a
// lock and formats.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace diresolver::log {

enum class Level { info, warn, error };
enum class Style { bare, journal, timestamped };

// journal when stderr is the stream systemd named in $JOURNAL_STREAM, else timestamped.
Style daemon_style();
// Before any thread logs.
void set_style(Style style);

// One line as `style` writes it at unix time `now_ms` (local time).
std::string format(Style style, Level level, std::string_view line, int64_t now_ms);
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
