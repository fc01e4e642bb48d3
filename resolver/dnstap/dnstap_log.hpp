// The dnstap log ([dnstap]): a Frame Streams output (a file, or a Unix socket
// a collector listens on) written by libfstrm's I/O thread, fed by one queue
// per worker. A worker hands a message to its queue and goes on: a full queue
// drops the message (counted), so a slow disk or collector never holds a query.
//
// One log per output: a reload that keeps the settings keeps the log, and one
// that changes them opens a new log beside the old, which finishes writing
// what it holds when the last query forwarded under it ends (see
// daemon/dnstap_outputs.hpp). fstrm starts a file afresh when it opens it, so
// a reload reopens the file only when it was moved or removed (logrotate),
// never under a reader of the live one.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "config/config.hpp"

struct fstrm_iothr;
struct fstrm_iothr_queue;

namespace diresolver {

class DnstapLog {
 public:
  // Throws std::runtime_error naming the path and the reason (e.g. a file that
  // cannot be created).
  DnstapLog(const DnstapSettings& settings, unsigned queues);
  // Writes out what the queues hold (waiting at most close_timeout_ms), then closes the output.
  ~DnstapLog();
  static constexpr int close_timeout_ms = 2000;
  DnstapLog(const DnstapLog&) = delete;
  DnstapLog& operator=(const DnstapLog&) = delete;

  // Whether a reload with `settings` can go on writing here: the same output,
  // and for a file, still the file this log opened. (Which messages are
  // written is the config's, not the log's: see Tap.)
  bool serves(const DnstapSettings& settings) const;

  fstrm_iothr* thread() const { return thread_; }
  fstrm_iothr_queue* queue(unsigned index) const;
  const std::string& identity() const { return identity_; }
  const std::string& version() const { return version_; }

 private:
  bool file_is_ours() const;
  std::string output() const;  // "file PATH" or "socket PATH"

  DnstapSettings settings_;
  std::string identity_, version_;
  dev_t file_device_ = 0;
  ino_t file_inode_ = 0;
  unsigned queues_;
  fstrm_iothr* thread_ = nullptr;
};

}  // namespace diresolver
