// The daemon's dnstap logs ([dnstap]): the one the running config writes to,
// and those a reload replaced, each closed on the control loop once no query
// uses it any more. Closing writes out what the log still holds, which a
// worker must never wait for, so the last reference never drops on a worker.
//
// A reload keeps the running log when it names the same output and, for a
// file, the file is still there (so the live file is never started afresh
// under its reader); a file moved or removed (logrotate) gets a new log. The
// identity, version and queue size apply when a log opens.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "dnstap/dnstap_log.hpp"
#include "uv/handle.hpp"

namespace diresolver {

class DnstapOutputs {
 public:
  DnstapOutputs(uv_loop_t* loop, unsigned workers) : loop_(loop), workers_(workers) {}

  // The log for `settings`: the running one if it still serves them, else a
  // new one (null when dnstap is off). Throws with the reason; nothing changes then.
  std::shared_ptr<const DnstapLog> log_for(const DnstapSettings& settings) const;
  // The config using `log` is now the running one.
  void running(std::shared_ptr<const DnstapLog> log);
  void close();

 private:
  static void on_sweep(uv_timer_t* timer) noexcept;
  void sweep();

  uv_loop_t* loop_;
  unsigned workers_;
  std::shared_ptr<const DnstapLog> running_;
  std::vector<std::shared_ptr<const DnstapLog>> retired_;  // replaced, maybe still used by queries in flight
  uv::Handle<uv_timer_t> sweep_timer_;
};

}  // namespace diresolver
