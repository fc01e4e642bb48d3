#include "net/fd_limit.hpp"

#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "util/clock.hpp"
#include "util/log.hpp"

namespace diresolver::fd_limit {

namespace {
constexpr int64_t report_interval_ms = 60'000;
std::atomic<int64_t> last_report_ms{-report_interval_ms};
}  // namespace

bool is_shortage(int error) {
  int code = std::abs(error);
  return code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
}

unsigned soft_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 1u << 30)
    return 1u << 30;
  return static_cast<unsigned>(limit.rlim_cur);
}

bool in_reserve(int fd, unsigned reserve) {
  auto limit = soft_limit();
  return fd >= 0 && static_cast<unsigned>(fd) + reserve >= limit;
}

void report(std::string_view what) {
  auto now = monotonic_ms();
  auto last = last_report_ms.load(std::memory_order_relaxed);
  if (now - last < report_interval_ms) return;
  if (!last_report_ms.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;  // another loop logs it
  log::warn("out of file descriptors (limit ", soft_limit(), "): ", what,
            "; raise LimitNOFILE or lower server.tcp_max_connections");
}

}  // namespace diresolver::fd_limit
