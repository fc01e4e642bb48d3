#include "util/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "util/clock.hpp"

namespace diresolver::log {

namespace {

std::mutex& line_mutex() {
  static std::mutex m;
  return m;
}

Style current_style = Style::bare;

const char* level_name(Level level) {
  switch (level) {
    case Level::info: return "info: ";
    case Level::warn: return "warn: ";
    case Level::error: return "error: ";
  }
  return "";
}

// syslog(3) priorities: what `journalctl -p` filters on.
const char* priority_prefix(Level level) {
  switch (level) {
    case Level::info: return "<6>";
    case Level::warn: return "<4>";
    case Level::error: return "<3>";
  }
  return "";
}

// 2026-12-05T00:18:11.123+01:00
std::string iso_timestamp(int64_t now_ms) {
  time_t seconds = static_cast<time_t>(now_ms / 1000);
  tm local{};
  localtime_r(&seconds, &local);
  char date[32], offset[8];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &local);
  strftime(offset, sizeof offset, "%z", &local);  // +0100
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03d%.3s:%.2s ", date, static_cast<int>(now_ms % 1000), offset, offset + 3);
  return out;
}

}  // namespace

Style daemon_style() {
  // systemd's convention (systemd.exec(5)): JOURNAL_STREAM is "device:inode" of the stream it connected.
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat st {};
  uintmax_t device = 0, inode = 0;
  if (stream && std::sscanf(stream, "%ju:%ju", &device, &inode) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
      st.st_dev == device && st.st_ino == inode)
    return Style::journal;
  return Style::timestamped;
}

void set_style(Style style) { current_style = style; }

std::string format(Style style, Level level, std::string_view line, int64_t now_ms) {
  std::string out;
  if (style == Style::journal) out = priority_prefix(level);
  if (style == Style::timestamped) out = iso_timestamp(now_ms);
  out += level_name(level);
  out += line;
  out += '\n';
  return out;
}

void write(Level level, std::string_view line) {
  auto text = format(current_style, level, line, unix_ms());
  std::lock_guard lock(line_mutex());
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void error_noexcept(const char* where, const char* what) noexcept {
  try {
    write(Level::error, join("uncaught exception in ", where, ": ", what));
  } catch (...) {  // no memory or no lock: nothing better to do than stay quiet
  }
}

}  // namespace diresolver::log
